import { type Logger } from 'pino';

/**
 * On SIGTERM or SIGINT: close the app (stop accepting, let in-flight work finish,
 * run every module's shutdown hook, close pools), then exit 0. If closing takes
 * longer than the grace period, exit 1 anyway rather than hang a deploy.
 */
export function exitGracefully(close: () => Promise<void>, logger: Logger, graceMs: number): void {
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      logger.info({ signal, graceMs }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ graceMs }, 'shutdown grace period exceeded; exiting');
        process.exit(1);
      }, graceMs);
      timer.unref();
      close().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err: (err as Error).message }, 'error while shutting down');
          process.exit(1);
        },
      );
    });
  }
}
