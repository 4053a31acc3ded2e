import { createLogger, exitGracefully, loadConfig } from '@app/config';
import { createWorker } from './worker.app';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  const app = await createWorker(config, logger);
  exitGracefully(() => app.close(), logger, config.server.shutdownGrace);
  logger.info({ concurrency: config.worker.concurrency }, 'worker started');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
