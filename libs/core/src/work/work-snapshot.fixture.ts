import { type RetryPolicy } from '../retry/retry-policy';
import { type WorkSnapshot, type WorkState } from './work-state';

/** Shared by the core specs: one fixed clock so every expected time is a literal. */
export const NOW = Date.UTC(2025, 0, 1);

/** No jitter, so a scheduled retry lands on an exact time a table can state. */
export const FIXTURE_POLICY: RetryPolicy = {
  maxAttempts: 3,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
  jitter: 0,
  nonRetryableErrors: ['bad_input'],
};

/**
 * A consistent snapshot in `state`: a lease only while RUNNING, pausedFrom only while
 * PAUSED. The numbers are distinct so a table can tell which field moved.
 */
export function snapshot(state: WorkState, patch: Partial<WorkSnapshot> = {}): WorkSnapshot {
  const running = state === 'RUNNING';
  return {
    state,
    pausedFrom: state === 'PAUSED' ? 'QUEUED' : null,
    attempt: 1,
    retryPolicy: FIXTURE_POLICY,
    runSeq: 2,
    leaseOwner: running ? 'worker-a' : null,
    leaseToken: 3n,
    leaseExpiresAt: running ? NOW + 10_000 : null,
    runAfter: null,
    pauseRequested: false,
    cancelRequested: false,
    checkpointSeq: 4,
    version: 7,
    ...patch,
  };
}
