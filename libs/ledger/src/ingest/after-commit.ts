import { type Logger } from '@app/config';
import { type Dispatch, type WorkDispatcher } from '../ports/work-dispatcher.port';

/**
 * Enqueues what a committed ingest needs. A failure is logged, not thrown: committed is
 * committed, and the reconciler enqueues QUEUED works that have no job.
 */
export async function dispatchAfterCommit(
  dispatcher: WorkDispatcher,
  logger: Logger,
  dispatches: Dispatch[],
  what: { eventId: string; workId: string | null } | string,
): Promise<void> {
  if (dispatches.length === 0) return;
  try {
    await dispatcher.dispatch(dispatches);
  } catch (err) {
    logger.warn(
      { ...(typeof what === 'string' ? { batch: what } : what), err: (err as Error).message },
      'enqueue after commit failed; the reconciler will retry',
    );
  }
}
