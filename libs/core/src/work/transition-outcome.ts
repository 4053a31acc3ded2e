/**
 * What a transition answers (accepted with the next snapshot, its timeline entry and
 * effects, or refused), and the shapes several commands share: the pieces transition.ts's
 * handlers are built from.
 */
import { decideRetry } from '../retry/retry-policy';
import { type WorkSnapshot, type WorkState } from './work-state';

/** What the ledger must do besides writing `next` (in the same transaction, or right after commit). */
export type WorkEffect =
  /** After commit: add the `work` job for this runSeq. */
  | { type: 'enqueue'; runSeq: number }
  /** After commit: a delayed `wake` job that requeues the work at `at` (retry backoff). */
  | { type: 'schedule_retry'; at: number; attempt: number }
  /** The run holding the lease must stop at this boundary (paused, cancelled, failed). */
  | { type: 'stop_run' }
  /** Close every open wait of the work as cancelled. */
  | { type: 'cancel_waits' }
  /** On resume: a wait whose timer fell due while paused fires now. */
  | { type: 'fire_due_waits' }
  /** The work finished: a parent waiting on it as a child is told. */
  | { type: 'notify_parent'; outcome: 'COMPLETED' | 'FAILED' | 'CANCELLED' }
  /** Rerun: steps with seq ≥ this are discarded (recorded in the timeline). */
  | { type: 'discard_steps_from'; seq: number }
  /**
   * The work ended: what is still unread in its inbox is marked, in the same
   * transaction, to be routed again as if it had just arrived (DESIGN.md, "Routing").
   * Every transition into a terminal state carries it (see `ended`).
   */
  | { type: 'reroute_inbox' };

/** The timeline entry a transition writes (WorkEvent.type). */
export type WorkEventType =
  | 'created'
  | 'claimed'
  | 'heartbeat'
  | 'step_completed'
  | 'waiting'
  | 'wait_satisfied'
  | 'timer_fired'
  | 'wait_timed_out'
  | 'completed'
  | 'retry_scheduled'
  | 'failed'
  | 'lease_expired'
  | 'released'
  | 'pause_requested'
  | 'paused'
  | 'resumed'
  | 'cancel_requested'
  | 'cancelled'
  | 'retried'
  | 'rerun';

export type RejectionCode =
  'invalid_state' | 'stale_lease' | 'already_exists' | 'no_work' | 'not_due' | 'lease_live';

export interface Rejection {
  ok: false;
  code: RejectionCode;
  reason: string;
  state: WorkState | null;
}

export interface Accepted {
  ok: true;
  next: WorkSnapshot;
  event: WorkEventType;
  effects: WorkEffect[];
}

export type TransitionResult = Accepted | Rejection;

export function reject(work: WorkSnapshot | null, code: RejectionCode, reason: string): Rejection {
  return { ok: false, code, reason, state: work?.state ?? null };
}

export function accept(
  work: WorkSnapshot,
  patch: Partial<WorkSnapshot>,
  event: WorkEventType,
  effects: WorkEffect[] = [],
): Accepted {
  return { ok: true, next: { ...work, ...patch, version: work.version + 1 }, event, effects };
}

export const RELEASED = { leaseOwner: null, leaseExpiresAt: null } as const;

/** Moves to QUEUED for another run: a new runSeq so the job id is new. */
export function requeue(
  work: WorkSnapshot,
  patch: Partial<WorkSnapshot>,
  event: WorkEventType,
  effects: WorkEffect[] = [],
): Accepted {
  const runSeq = work.runSeq + 1;
  return accept(
    work,
    { ...RELEASED, ...patch, state: 'QUEUED', runSeq, runAfter: patch.runAfter ?? null },
    event,
    [...effects, { type: 'enqueue', runSeq }],
  );
}

/**
 * The effects of every transition into a terminal state: the parent is told, and the
 * unread inbox is handed back to routing. One place, so no path to an end (completion,
 * failure, cancel, timeout) can forget its inbox.
 */
export function ended(outcome: 'COMPLETED' | 'FAILED' | 'CANCELLED'): WorkEffect[] {
  return [{ type: 'notify_parent', outcome }, { type: 'reroute_inbox' }];
}

export function cancelNow(work: WorkSnapshot, event: WorkEventType = 'cancelled'): Accepted {
  return accept(
    work,
    {
      ...RELEASED,
      state: 'CANCELLED',
      pausedFrom: null,
      pauseRequested: false,
      cancelRequested: false,
      runAfter: null,
    },
    event,
    [{ type: 'stop_run' }, { type: 'cancel_waits' }, ...ended('CANCELLED')],
  );
}

/**
 * A run ended without completing (failed or lost its lease): retry by the work's
 * policy, or fail for good. A pending cancel or pause wins over a retry.
 */
export function afterFailedAttempt(
  work: WorkSnapshot,
  errorCode: string | undefined,
  retryable: boolean,
  now: number,
  random: number,
  event: 'failed' | 'lease_expired',
): Accepted {
  if (work.cancelRequested) return cancelNow(work);
  const decision = retryable
    ? decideRetry(work.retryPolicy, work.attempt, errorCode, random)
    : ({ retry: false, reason: 'non_retryable' } as const);
  if (!decision.retry) {
    return accept(
      work,
      { ...RELEASED, state: 'FAILED', pauseRequested: false, runAfter: null },
      event === 'lease_expired' ? 'lease_expired' : 'failed',
      [{ type: 'stop_run' }, { type: 'cancel_waits' }, ...ended('FAILED')],
    );
  }
  const at = now + decision.delayMs;
  if (work.pauseRequested) {
    return accept(
      work,
      {
        ...RELEASED,
        state: 'PAUSED',
        pausedFrom: 'QUEUED',
        pauseRequested: false,
        attempt: decision.nextAttempt,
        runAfter: at,
      },
      event === 'lease_expired' ? 'lease_expired' : 'retry_scheduled',
      [{ type: 'stop_run' }],
    );
  }
  const runSeq = work.runSeq + 1;
  return accept(
    work,
    { ...RELEASED, state: 'QUEUED', attempt: decision.nextAttempt, runAfter: at, runSeq },
    event === 'lease_expired' ? 'lease_expired' : 'retry_scheduled',
    [{ type: 'stop_run' }, { type: 'schedule_retry', at, attempt: decision.nextAttempt }],
  );
}
