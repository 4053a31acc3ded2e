import { type IdGenerator } from '@app/core';
import { type Logger } from '@app/config';
import {
  ChildWorkError,
  DeterminismError,
  InterruptRequested,
  LeaseLostError,
  NonRetryableError,
  Suspend,
  WorkerStopping,
  serializeError,
} from '../workflow/workflow.errors';
import { type RunHandle } from './run-resources';
import { type RunStore } from './run-store';

export type RunOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'completed' | 'suspended' | 'failed' | 'lease_lost' | 'released'; detail?: string };

/**
 * What a run that ended by throwing leaves in the ledger, by what ended it: a wait or
 * a pause/cancel at a step boundary (suspended: already written), a lost lease
 * (nothing: a zombie does not write), an interrupt (restarted from the last inbox
 * read), a stopping worker (released), or an error (failed, retried by the work's
 * policy unless it cannot help).
 */
export async function finishWithError(
  deps: { store: RunStore; ids: IdGenerator },
  thrown: unknown,
  handle: RunHandle,
  abort: AbortController,
  log: Logger,
): Promise<RunOutcome> {
  const err = await settledCause(deps.store, thrown, handle);
  if (err instanceof Suspend) {
    log.info({ reason: err.reason }, 'run suspended');
    return { outcome: 'suspended', detail: err.reason };
  }
  if (err instanceof LeaseLostError || abort.signal.reason instanceof LeaseLostError) {
    log.warn('lease lost; this run stops without writing');
    return { outcome: 'lease_lost' };
  }
  if (abort.signal.reason instanceof InterruptRequested) {
    // The `interrupt` busy policy: a message arrived for this busy work. The run
    // stops here and starts again from its last inbox read, which now holds it.
    const fromSeq = await deps.store.ends.restartForInterrupt(handle);
    log.info({ fromSeq }, 'interrupted by a new message; restarting');
    return { outcome: 'released', detail: 'interrupted' };
  }
  if (err instanceof WorkerStopping || abort.signal.reason instanceof WorkerStopping) {
    await deps.store.ends.release(handle);
    log.info('released the work for another worker (shutdown)');
    return { outcome: 'released' };
  }
  return failRun(deps, err, handle, log);
}

/**
 * The last completed step's checkpoint may still be on its way
 * (CheckpointSystem.completeStep). It is written before anything else, and may itself
 * end the run: a pause or cancel that landed at that step's boundary (Suspend), or a
 * lost lease — which then is what ended the run.
 */
async function settledCause(store: RunStore, thrown: unknown, handle: RunHandle) {
  try {
    await store.checkpoints.settle(handle);
    return thrown;
  } catch (settleErr) {
    if (!(settleErr instanceof Suspend || settleErr instanceof LeaseLostError)) throw settleErr;
    return settleErr;
  }
}

async function failRun(
  deps: { store: RunStore; ids: IdGenerator },
  err: unknown,
  handle: RunHandle,
  log: Logger,
): Promise<RunOutcome> {
  const error = serializeError(err);
  // A child's failure is a recorded step result: a retry replays the same ChildWorkError
  // (the child is not started again), so retrying would only wait out backoffs.
  const retryable = !(
    err instanceof NonRetryableError ||
    err instanceof DeterminismError ||
    err instanceof ChildWorkError
  );
  try {
    const state = await deps.store.ends.fail(handle, error, retryable, deps.ids.random());
    log.warn(
      { err: error.message, code: error.code, state },
      state === 'QUEUED' ? 'run failed; retry scheduled' : `run failed; work ${state}`,
    );
    return { outcome: 'failed', detail: state };
  } catch (failErr) {
    if (failErr instanceof LeaseLostError) return { outcome: 'lease_lost' };
    throw failErr;
  }
}
