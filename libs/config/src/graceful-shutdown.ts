import { type Logger } from 'pino';

export interface GracefulExit {
  /** Closes the app: stop accepting, let in-flight work finish, run the shutdown hooks, close pools. */
  close: () => Promise<void>;
  logger: Logger;
  /** How long `close` may take before the process exits 1 anyway (server.shutdownGrace). */
  graceMs: number;
  /**
   * Called at the signal, before anything closes: the gateway answers 503 on
   * /health/ready from then on. `drainDelayMs` later (server.drainDelay) `close` starts.
   */
  drain?: () => void;
  drainDelayMs?: number;
}

/**
 * On SIGTERM or SIGINT: mark the process draining, keep serving for `drainDelayMs` so a
 * load balancer polling readiness stops routing here before the listener closes (one
 * that is still routing meanwhile is answered, not refused), then close the app and exit
 * 0. If closing takes longer than the grace period, exit 1 anyway rather than hang a
 * deploy. A second signal during the drain delay closes at once (an operator's Ctrl-C).
 */
export function exitGracefully(options: GracefulExit): void {
  const { close, logger, graceMs, drain, drainDelayMs = 0 } = options;
  let closing = false;
  let draining: { skip: () => void } | undefined;
  const closeNow = () => {
    if (closing) return;
    closing = true;
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
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (draining) return draining.skip();
      logger.info({ signal, graceMs, drainDelayMs }, 'shutting down');
      drain?.();
      if (drainDelayMs <= 0) return closeNow();
      const timer = setTimeout(closeNow, drainDelayMs);
      draining = {
        skip: () => {
          clearTimeout(timer);
          closeNow();
        },
      };
    });
  }
}
