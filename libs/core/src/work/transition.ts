import { decideRetry } from '../retry/retry-policy';
import { type WorkCommand } from './work-command';
import { isTerminal, type WorkSnapshot, type WorkState } from './work-state';

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

function reject(work: WorkSnapshot | null, code: RejectionCode, reason: string): Rejection {
  return { ok: false, code, reason, state: work?.state ?? null };
}

function accept(
  work: WorkSnapshot,
  patch: Partial<WorkSnapshot>,
  event: WorkEventType,
  effects: WorkEffect[] = [],
): Accepted {
  return { ok: true, next: { ...work, ...patch, version: work.version + 1 }, event, effects };
}

const RELEASED = { leaseOwner: null, leaseExpiresAt: null } as const;

/** Moves to QUEUED for another run: a new runSeq so the job id is new. */
function requeue(
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
function ended(outcome: 'COMPLETED' | 'FAILED' | 'CANCELLED'): WorkEffect[] {
  return [{ type: 'notify_parent', outcome }, { type: 'reroute_inbox' }];
}

function cancelNow(work: WorkSnapshot, event: WorkEventType = 'cancelled'): Accepted {
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
function afterFailedAttempt(
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

/**
 * The work state machine (DESIGN.md, "Work states"): one pure function that every
 * ledger write goes through. The ledger applies `next` with a conditional UPDATE on
 * the version (and the lease token for fenced commands), so two writers never both win.
 */
export function transition(work: WorkSnapshot | null, command: WorkCommand): TransitionResult {
  if (command.type === 'create') {
    if (work) return reject(work, 'already_exists', 'the work already exists');
    const created: WorkSnapshot = {
      state: 'QUEUED',
      pausedFrom: null,
      attempt: 1,
      retryPolicy: command.retryPolicy,
      runSeq: 1,
      leaseOwner: null,
      leaseToken: 0n,
      leaseExpiresAt: null,
      runAfter: null,
      pauseRequested: false,
      cancelRequested: false,
      checkpointSeq: 0,
      version: 0,
    };
    return { ok: true, next: created, event: 'created', effects: [{ type: 'enqueue', runSeq: 1 }] };
  }
  if (!work) return reject(null, 'no_work', 'no such work');

  // Fenced commands: only the run holding the current lease may issue them. A stale
  // token means another worker claimed the work since; its writes must not land.
  switch (command.type) {
    case 'heartbeat':
    case 'step_completed':
    case 'open_wait':
    case 'complete':
    case 'fail':
    case 'lease_expired':
    case 'release':
      if (work.state !== 'RUNNING') {
        return reject(
          work,
          'invalid_state',
          `${command.type} needs RUNNING, the work is ${work.state}`,
        );
      }
      if (command.token !== work.leaseToken) {
        return reject(
          work,
          'stale_lease',
          `lease token ${command.token} is stale (current ${work.leaseToken})`,
        );
      }
      break;
    default:
      break;
  }

  switch (command.type) {
    case 'claim': {
      if (work.state !== 'QUEUED')
        return reject(
          work,
          'invalid_state',
          `only a QUEUED work can be claimed, this one is ${work.state}`,
        );
      if (work.runAfter !== null && work.runAfter > command.now) {
        return reject(
          work,
          'not_due',
          `retry backoff until ${new Date(work.runAfter).toISOString()}`,
        );
      }
      return accept(
        work,
        {
          state: 'RUNNING',
          leaseOwner: command.owner,
          leaseToken: work.leaseToken + 1n,
          leaseExpiresAt: command.now + command.leaseMs,
          runAfter: null,
        },
        'claimed',
      );
    }
    case 'heartbeat':
      return accept(work, { leaseExpiresAt: command.now + command.leaseMs }, 'heartbeat');

    case 'step_completed': {
      const patch = { checkpointSeq: Math.max(work.checkpointSeq, command.seq) };
      if (work.cancelRequested) return cancelNow({ ...work, ...patch });
      if (work.pauseRequested) {
        return accept(
          work,
          { ...patch, ...RELEASED, state: 'PAUSED', pausedFrom: 'QUEUED', pauseRequested: false },
          'paused',
          [{ type: 'stop_run' }],
        );
      }
      return accept(work, patch, 'step_completed');
    }
    case 'open_wait': {
      const patch = { checkpointSeq: Math.max(work.checkpointSeq, command.seq) };
      if (work.cancelRequested) return cancelNow({ ...work, ...patch });
      if (work.pauseRequested) {
        return accept(
          work,
          { ...patch, ...RELEASED, state: 'PAUSED', pausedFrom: 'WAITING', pauseRequested: false },
          'paused',
          [{ type: 'stop_run' }],
        );
      }
      return accept(work, { ...patch, ...RELEASED, state: 'WAITING' }, 'waiting', [
        { type: 'stop_run' },
      ]);
    }
    case 'wait_satisfied':
      if (work.state === 'WAITING') return requeue(work, {}, 'wait_satisfied');
      // An answer that arrives while paused is kept; resume then runs the work.
      if (work.state === 'PAUSED' && work.pausedFrom === 'WAITING') {
        return accept(work, { pausedFrom: 'QUEUED' }, 'wait_satisfied');
      }
      return reject(work, 'invalid_state', `the work is ${work.state}, not waiting`);

    case 'timer_fired':
      // Timers do not fire while paused: resume fires a timer that fell due meanwhile.
      if (work.state === 'WAITING') return requeue(work, {}, 'timer_fired');
      return reject(
        work,
        'invalid_state',
        `a timer fires only for a WAITING work, this one is ${work.state}`,
      );

    case 'wait_timed_out':
      if (work.state !== 'WAITING') {
        return reject(
          work,
          'invalid_state',
          `a wait times out only for a WAITING work, this one is ${work.state}`,
        );
      }
      if (command.onTimeout === 'resume') return requeue(work, {}, 'wait_timed_out');
      return accept(work, { ...RELEASED, state: 'FAILED' }, 'wait_timed_out', [
        { type: 'cancel_waits' },
        ...ended('FAILED'),
      ]);

    case 'complete':
      return accept(
        work,
        { ...RELEASED, state: 'COMPLETED', pauseRequested: false, cancelRequested: false },
        'completed',
        [{ type: 'stop_run' }, ...ended('COMPLETED')],
      );

    case 'fail':
      return afterFailedAttempt(
        work,
        command.errorCode,
        command.retryable,
        command.now,
        command.random,
        'failed',
      );

    case 'lease_expired':
      if (work.leaseExpiresAt !== null && work.leaseExpiresAt > command.now) {
        return reject(work, 'lease_live', 'the lease has not expired');
      }
      return afterFailedAttempt(
        work,
        'lease_expired',
        true,
        command.now,
        command.random,
        'lease_expired',
      );

    case 'release':
      // A requested cancel or pause lands here too: this is the run's last boundary.
      if (work.cancelRequested) return cancelNow(work);
      if (work.pauseRequested) {
        return accept(
          work,
          { ...RELEASED, state: 'PAUSED', pausedFrom: 'QUEUED', pauseRequested: false },
          'paused',
          [{ type: 'stop_run' }],
        );
      }
      return requeue(work, {}, 'released', [{ type: 'stop_run' }]);

    case 'pause':
      switch (work.state) {
        case 'QUEUED':
        case 'WAITING':
          return accept(work, { state: 'PAUSED', pausedFrom: work.state }, 'paused');
        case 'RUNNING':
          if (work.pauseRequested)
            return reject(work, 'invalid_state', 'a pause is already requested');
          return accept(work, { pauseRequested: true }, 'pause_requested');
        case 'PAUSED':
          return reject(work, 'invalid_state', 'the work is already PAUSED');
        case 'COMPLETED':
        case 'FAILED':
        case 'CANCELLED':
          return reject(work, 'invalid_state', `a ${work.state} work cannot be paused`);
      }
      break;

    case 'resume':
      if (work.state === 'RUNNING' && work.pauseRequested)
        return accept(work, { pauseRequested: false }, 'resumed');
      if (work.state !== 'PAUSED')
        return reject(
          work,
          'invalid_state',
          `only a PAUSED work can be resumed, this one is ${work.state}`,
        );
      if (work.pausedFrom === 'WAITING') {
        return accept(work, { state: 'WAITING', pausedFrom: null }, 'resumed', [
          { type: 'fire_due_waits' },
        ]);
      }
      return requeue(work, { pausedFrom: null, runAfter: work.runAfter }, 'resumed');

    case 'cancel':
      if (isTerminal(work.state))
        return reject(work, 'invalid_state', `a ${work.state} work cannot be cancelled`);
      if (work.state === 'RUNNING') {
        if (work.cancelRequested)
          return reject(work, 'invalid_state', 'a cancel is already requested');
        return accept(work, { cancelRequested: true }, 'cancel_requested');
      }
      return cancelNow(work);

    case 'retry':
      if (work.state !== 'FAILED' && work.state !== 'CANCELLED') {
        return reject(
          work,
          'invalid_state',
          `only a FAILED or CANCELLED work can be retried, this one is ${work.state}`,
        );
      }
      return requeue(
        work,
        { attempt: 1, pausedFrom: null, pauseRequested: false, cancelRequested: false },
        'retried',
      );

    case 'rerun_from_step':
      if (work.state === 'RUNNING') {
        return reject(
          work,
          'invalid_state',
          'a RUNNING work cannot be rerun; pause or cancel it first',
        );
      }
      if (command.seq < 1) return reject(work, 'invalid_state', 'steps are numbered from 1');
      return requeue(
        work,
        {
          attempt: 1,
          pausedFrom: null,
          pauseRequested: false,
          cancelRequested: false,
          checkpointSeq: Math.min(work.checkpointSeq, command.seq - 1),
        },
        'rerun',
        [{ type: 'cancel_waits' }, { type: 'discard_steps_from', seq: command.seq }],
      );
  }
  return reject(work, 'invalid_state', 'unhandled command');
}
