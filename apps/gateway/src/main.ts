import { createLogger, exitGracefully, loadConfig } from '@app/config';
import { ProcessHealth } from '@app/observability';
import { createGateway } from './gateway.app';
import { IdleConnectionReaper } from './http/idle-connection-reaper';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'gateway');
  const app = await createGateway(config, logger);
  const reaper = new IdleConnectionReaper(app.getHttpServer());
  // SIGTERM: /health/ready turns 503 at once, requests are served drainDelay longer, then
  // the listener closes and in-flight requests finish within shutdownGrace.
  exitGracefully({
    close: async () => {
      // From here on Nest answers every new request 503 (Connection: close); connections
      // left without a request are closed so the listener's close can end.
      reaper.start();
      await app.close();
      reaper.stop();
    },
    logger,
    graceMs: config.server.shutdownGrace,
    drain: () => app.get(ProcessHealth).beginDraining(),
    drainDelayMs: config.server.drainDelay,
  });
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
