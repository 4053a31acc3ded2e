import { createLogger, exitGracefully, loadConfig } from '@app/config';
import { createGateway } from './gateway.app';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'gateway');
  const app = await createGateway(config, logger);
  exitGracefully(() => app.close(), logger, config.server.shutdownGrace);
  await app.listen({ port: config.server.port, host: config.server.host });
  logger.info(
    { url: await app.getUrl(), sources: Object.keys(config.webhooks.sources) },
    'gateway listening',
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
