import { createLogger, exitGracefully, loadConfig } from '@app/config';
import { createWorker } from './worker.app';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config, 'worker');
  const app = await createWorker(config, logger);
  // The drain itself (stop claiming, runs to a step boundary, release the rest) is the
  // engine's WorkerShutdown, which app.close() runs first; nothing routes to a worker.
  exitGracefully({ close: () => app.close(), logger, graceMs: config.server.shutdownGrace });
  logger.info({ concurrency: config.worker.concurrency }, 'worker started');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
