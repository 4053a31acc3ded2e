import { FENCED_COMMANDS, type WorkCommand, type WorkCommandType } from './work-command';
import { isTerminal, type WorkSnapshot } from './work-state';
import {
  accept,
  afterFailedAttempt,
  cancelNow,
  ended,
  reject,
  RELEASED,
  requeue,
  type TransitionResult,
} from './transition-outcome';

export type {
  Accepted,
  Rejection,
  RejectionCode,
  TransitionResult,
  WorkEffect,
  WorkEventType,
} from './transition-outcome';

type CommandOf<T extends WorkCommandType> = Extract<WorkCommand, { type: T }>;
type Handler<T extends WorkCommandType> = (
  work: WorkSnapshot,
  command: CommandOf<T>,
) => TransitionResult;

/** One handler per command a work that exists can take (`create` is the one that needs none). */
type Handlers = { [T in Exclude<WorkCommandType, 'create'>]: Handler<T> };

function create(work: WorkSnapshot | null, command: CommandOf<'create'>): TransitionResult {
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

/**
 * Fenced commands: only the run holding the current lease may issue them. A stale
 * token means another worker claimed the work since; its writes must not land.
 */
function fencingRejection(work: WorkSnapshot, command: WorkCommand): TransitionResult | null {
  if (!FENCED_COMMANDS.includes(command.type) || !('token' in command)) return null;
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
  return null;
}

function claim(work: WorkSnapshot, command: CommandOf<'claim'>): TransitionResult {
  if (work.state !== 'QUEUED')
    return reject(
      work,
      'invalid_state',
      `only a QUEUED work can be claimed, this one is ${work.state}`,
    );
  if (work.runAfter !== null && work.runAfter > command.now) {
    return reject(work, 'not_due', `retry backoff until ${new Date(work.runAfter).toISOString()}`);
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

/**
 * A step boundary (a checkpoint, or a wait opening): the checkpoint moves forward, and a
 * pending cancel or pause lands here; otherwise `plain` says where the work goes.
 */
function atBoundary(
  work: WorkSnapshot,
  seq: number,
  pausedFrom: 'QUEUED' | 'WAITING',
  plain: (patch: { checkpointSeq: number }) => TransitionResult,
): TransitionResult {
  const patch = { checkpointSeq: Math.max(work.checkpointSeq, seq) };
  if (work.cancelRequested) return cancelNow({ ...work, ...patch });
  if (work.pauseRequested) {
    return accept(
      work,
      { ...patch, ...RELEASED, state: 'PAUSED', pausedFrom, pauseRequested: false },
      'paused',
      [{ type: 'stop_run' }],
    );
  }
  return plain(patch);
}

function waitSatisfied(work: WorkSnapshot): TransitionResult {
  if (work.state === 'WAITING') return requeue(work, {}, 'wait_satisfied');
  // An answer that arrives while paused is kept; resume then runs the work.
  if (work.state === 'PAUSED' && work.pausedFrom === 'WAITING') {
    return accept(work, { pausedFrom: 'QUEUED' }, 'wait_satisfied');
  }
  return reject(work, 'invalid_state', `the work is ${work.state}, not waiting`);
}

function waitTimedOut(work: WorkSnapshot, command: CommandOf<'wait_timed_out'>): TransitionResult {
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
}

function release(work: WorkSnapshot): TransitionResult {
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
}

function pause(work: WorkSnapshot): TransitionResult {
  switch (work.state) {
    case 'QUEUED':
    case 'WAITING':
      return accept(work, { state: 'PAUSED', pausedFrom: work.state }, 'paused');
    case 'RUNNING':
      if (work.pauseRequested) return reject(work, 'invalid_state', 'a pause is already requested');
      return accept(work, { pauseRequested: true }, 'pause_requested');
    case 'PAUSED':
      return reject(work, 'invalid_state', 'the work is already PAUSED');
    case 'COMPLETED':
    case 'FAILED':
    case 'CANCELLED':
      return reject(work, 'invalid_state', `a ${work.state} work cannot be paused`);
  }
}

function resume(work: WorkSnapshot): TransitionResult {
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
}

function cancel(work: WorkSnapshot): TransitionResult {
  if (isTerminal(work.state))
    return reject(work, 'invalid_state', `a ${work.state} work cannot be cancelled`);
  if (work.state === 'RUNNING') {
    if (work.cancelRequested) return reject(work, 'invalid_state', 'a cancel is already requested');
    return accept(work, { cancelRequested: true }, 'cancel_requested');
  }
  return cancelNow(work);
}

function retry(work: WorkSnapshot): TransitionResult {
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
}

function rerunFromStep(
  work: WorkSnapshot,
  command: CommandOf<'rerun_from_step'>,
): TransitionResult {
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

/** Exhaustive by its type: a new command does not compile until it has a handler here. */
const HANDLERS: Handlers = {
  claim,
  heartbeat: (work, c) => accept(work, { leaseExpiresAt: c.now + c.leaseMs }, 'heartbeat'),
  step_completed: (work, c) =>
    atBoundary(work, c.seq, 'QUEUED', (patch) => accept(work, patch, 'step_completed')),
  open_wait: (work, c) =>
    atBoundary(work, c.seq, 'WAITING', (patch) =>
      accept(work, { ...patch, ...RELEASED, state: 'WAITING' }, 'waiting', [{ type: 'stop_run' }]),
    ),
  wait_satisfied: waitSatisfied,
  timer_fired: (work) =>
    // Timers do not fire while paused: resume fires a timer that fell due meanwhile.
    work.state === 'WAITING'
      ? requeue(work, {}, 'timer_fired')
      : reject(
          work,
          'invalid_state',
          `a timer fires only for a WAITING work, this one is ${work.state}`,
        ),
  wait_timed_out: waitTimedOut,
  complete: (work) =>
    accept(
      work,
      { ...RELEASED, state: 'COMPLETED', pauseRequested: false, cancelRequested: false },
      'completed',
      [{ type: 'stop_run' }, ...ended('COMPLETED')],
    ),
  fail: (work, c) => afterFailedAttempt(work, c.errorCode, c.retryable, c.now, c.random, 'failed'),
  lease_expired: (work, c) =>
    work.leaseExpiresAt !== null && work.leaseExpiresAt > c.now
      ? reject(work, 'lease_live', 'the lease has not expired')
      : afterFailedAttempt(work, 'lease_expired', true, c.now, c.random, 'lease_expired'),
  release,
  pause,
  resume,
  cancel,
  retry,
  rerun_from_step: rerunFromStep,
};

/**
 * The work state machine (DESIGN.md, "Work states"): one pure function that every
 * ledger write goes through. The ledger applies `next` with a conditional UPDATE on
 * the version (and the lease token for fenced commands), so two writers never both win.
 * Where a hot path restates it in SQL, a differential test holds the SQL to it
 * (docs/decisions.md, "SQL that restates transition()").
 */
export function transition(work: WorkSnapshot | null, command: WorkCommand): TransitionResult {
  if (command.type === 'create') return create(work, command);
  if (!work) return reject(null, 'no_work', 'no such work');
  const refused = fencingRejection(work, command);
  if (refused) return refused;
  // The table is indexed by the command's own type, so the handler takes that command.
  const handler = HANDLERS[command.type] as Handler<typeof command.type>;
  return handler(work, command);
}
