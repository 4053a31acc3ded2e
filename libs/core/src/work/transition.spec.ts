import { DEFAULT_RETRY_POLICY } from '../retry/retry-policy';
import { type RejectionCode, transition, type WorkEffect, type WorkEventType } from './transition';
import {
  FENCED_COMMANDS,
  type WorkCommand,
  WORK_COMMAND_TYPES,
  type WorkCommandType,
} from './work-command';
import { type WorkSnapshot, type WorkState } from './work-state';
import { FIXTURE_POLICY, NOW, snapshot } from './work-snapshot.fixture';

// ─── The starting points ────────────────────────────────────────────────────────────
// Every WorkState, plus the variants the diagram treats differently: PAUSED remembers
// where it came from, RUNNING may carry a pause or cancel for its next step boundary,
// and QUEUED may sit in a retry backoff.

const STATES = {
  'no work': null,
  QUEUED: snapshot('QUEUED'),
  'QUEUED in backoff': snapshot('QUEUED', { runAfter: NOW + 5_000, attempt: 2 }),
  RUNNING: snapshot('RUNNING'),
  'RUNNING, pause requested': snapshot('RUNNING', { pauseRequested: true }),
  'RUNNING, cancel requested': snapshot('RUNNING', { cancelRequested: true }),
  WAITING: snapshot('WAITING'),
  'PAUSED from QUEUED': snapshot('PAUSED', { pausedFrom: 'QUEUED' }),
  'PAUSED from WAITING': snapshot('PAUSED', { pausedFrom: 'WAITING' }),
  COMPLETED: snapshot('COMPLETED'),
  FAILED: snapshot('FAILED'),
  CANCELLED: snapshot('CANCELLED'),
} satisfies Record<string, WorkSnapshot | null>;
type StateLabel = keyof typeof STATES;

// ─── The commands ───────────────────────────────────────────────────────────────────
// Fenced commands carry the work's current token (a stale token is its own test below).
// The running fixture's lease runs until NOW + 10 s.

const token = (work: WorkSnapshot | null) => work?.leaseToken ?? 0n;

const COMMANDS = {
  create: () => ({ type: 'create', retryPolicy: FIXTURE_POLICY }),
  claim: () => ({ type: 'claim', owner: 'worker-b', leaseMs: 30_000, now: NOW }),
  heartbeat: (w) => ({ type: 'heartbeat', token: token(w), leaseMs: 30_000, now: NOW }),
  step_completed: (w) => ({ type: 'step_completed', token: token(w), seq: 5 }),
  open_wait: (w) => ({ type: 'open_wait', token: token(w), seq: 5 }),
  wait_satisfied: () => ({ type: 'wait_satisfied' }),
  timer_fired: () => ({ type: 'timer_fired' }),
  'wait_timed_out (fail)': () => ({ type: 'wait_timed_out', onTimeout: 'fail' }),
  'wait_timed_out (resume)': () => ({ type: 'wait_timed_out', onTimeout: 'resume' }),
  complete: (w) => ({ type: 'complete', token: token(w) }),
  'fail (retryable)': (w) => ({
    type: 'fail',
    token: token(w),
    errorCode: 'flaky',
    retryable: true,
    now: NOW,
    random: 0.5,
  }),
  'fail (non-retryable)': (w) => ({
    type: 'fail',
    token: token(w),
    errorCode: 'flaky',
    retryable: false,
    now: NOW,
    random: 0.5,
  }),
  'lease_expired (expired)': (w) => ({
    type: 'lease_expired',
    token: token(w),
    now: NOW + 20_000,
    random: 0.5,
  }),
  'lease_expired (live)': (w) => ({
    type: 'lease_expired',
    token: token(w),
    now: NOW,
    random: 0.5,
  }),
  release: (w) => ({ type: 'release', token: token(w) }),
  pause: () => ({ type: 'pause' }),
  resume: () => ({ type: 'resume' }),
  cancel: () => ({ type: 'cancel' }),
  retry: () => ({ type: 'retry' }),
  rerun_from_step: () => ({ type: 'rerun_from_step', seq: 2 }),
} satisfies Record<string, (work: WorkSnapshot | null) => WorkCommand>;
type CommandLabel = keyof typeof COMMANDS;

// ─── Expected outcomes ──────────────────────────────────────────────────────────────

type Expected =
  | {
      ok: true;
      state: WorkState;
      event: WorkEventType;
      effects: WorkEffect['type'][];
      /** Fields of `next` worth stating besides the state. */
      next?: Partial<WorkSnapshot>;
    }
  | { ok: false; code: RejectionCode };

const to = (
  state: WorkState,
  event: WorkEventType,
  effects: WorkEffect['type'][],
  next?: Partial<WorkSnapshot>,
): Expected => ({
  ok: true,
  state,
  event,
  effects,
  next,
});
const rejected = (code: RejectionCode): Expected => ({ ok: false, code });

const INVALID = rejected('invalid_state');
const NO_WORK = rejected('no_work');
const EXISTS = rejected('already_exists');
const RELEASED = { leaseOwner: null, leaseExpiresAt: null };
const cancelledNow = (next: Partial<WorkSnapshot> = {}) =>
  to('CANCELLED', 'cancelled', ['stop_run', 'cancel_waits', 'notify_parent', 'reroute_inbox'], {
    ...RELEASED,
    pausedFrom: null,
    pauseRequested: false,
    cancelRequested: false,
    ...next,
  });
const CANCELLED_NOW = cancelledNow();
const RERUN = to('QUEUED', 'rerun', ['cancel_waits', 'discard_steps_from', 'enqueue'], {
  runSeq: 3,
  attempt: 1,
  checkpointSeq: 1,
  pausedFrom: null,
});
/** A fenced command on a work that is not RUNNING: no run can hold its lease. */
const NOT_RUNNING = {
  heartbeat: INVALID,
  step_completed: INVALID,
  open_wait: INVALID,
  complete: INVALID,
  'fail (retryable)': INVALID,
  'fail (non-retryable)': INVALID,
  'lease_expired (expired)': INVALID,
  'lease_expired (live)': INVALID,
  release: INVALID,
} as const;
/** Waits resolve only for a work that is waiting. */
const NOT_WAITING = {
  wait_satisfied: INVALID,
  timer_fired: INVALID,
  'wait_timed_out (fail)': INVALID,
  'wait_timed_out (resume)': INVALID,
} as const;
/** RUNNING rejects everything that is neither its run's nor a request for its next boundary. */
const RUNNING_REJECTS = {
  create: EXISTS,
  claim: INVALID,
  ...NOT_WAITING,
  retry: INVALID,
  rerun_from_step: INVALID,
} as const;

/**
 * DESIGN.md "Work states", pair by pair. Written out rather than derived so it can be
 * read against the diagram; the Record types make a missing pair a compile error.
 */
const TABLE: Record<StateLabel, Record<CommandLabel, Expected>> = {
  'no work': {
    create: to('QUEUED', 'created', ['enqueue'], {
      runSeq: 1,
      attempt: 1,
      leaseToken: 0n,
      version: 0,
    }),
    claim: NO_WORK,
    heartbeat: NO_WORK,
    step_completed: NO_WORK,
    open_wait: NO_WORK,
    wait_satisfied: NO_WORK,
    timer_fired: NO_WORK,
    'wait_timed_out (fail)': NO_WORK,
    'wait_timed_out (resume)': NO_WORK,
    complete: NO_WORK,
    'fail (retryable)': NO_WORK,
    'fail (non-retryable)': NO_WORK,
    'lease_expired (expired)': NO_WORK,
    'lease_expired (live)': NO_WORK,
    release: NO_WORK,
    pause: NO_WORK,
    resume: NO_WORK,
    cancel: NO_WORK,
    retry: NO_WORK,
    rerun_from_step: NO_WORK,
  },

  QUEUED: {
    create: EXISTS,
    claim: to('RUNNING', 'claimed', [], {
      leaseOwner: 'worker-b',
      leaseToken: 4n,
      leaseExpiresAt: NOW + 30_000,
    }),
    ...NOT_RUNNING,
    ...NOT_WAITING,
    pause: to('PAUSED', 'paused', [], { pausedFrom: 'QUEUED' }),
    resume: INVALID,
    cancel: CANCELLED_NOW,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  'QUEUED in backoff': {
    create: EXISTS,
    claim: rejected('not_due'),
    ...NOT_RUNNING,
    ...NOT_WAITING,
    // The backoff survives the pause: resume must not skip it.
    pause: to('PAUSED', 'paused', [], { pausedFrom: 'QUEUED', runAfter: NOW + 5_000, attempt: 2 }),
    resume: INVALID,
    cancel: CANCELLED_NOW,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  RUNNING: {
    ...RUNNING_REJECTS,
    heartbeat: to('RUNNING', 'heartbeat', [], {
      leaseOwner: 'worker-a',
      leaseToken: 3n,
      leaseExpiresAt: NOW + 30_000,
    }),
    step_completed: to('RUNNING', 'step_completed', [], {
      checkpointSeq: 5,
      leaseOwner: 'worker-a',
    }),
    open_wait: to('WAITING', 'waiting', ['stop_run'], { ...RELEASED, checkpointSeq: 5 }),
    complete: to(
      'COMPLETED',
      'completed',
      ['stop_run', 'notify_parent', 'reroute_inbox'],
      RELEASED,
    ),
    // attempt 1 of 3 failed: retry after initialIntervalMs, under a new runSeq.
    'fail (retryable)': to('QUEUED', 'retry_scheduled', ['stop_run', 'schedule_retry'], {
      ...RELEASED,
      attempt: 2,
      runAfter: NOW + 1_000,
      runSeq: 3,
    }),
    'fail (non-retryable)': to(
      'FAILED',
      'failed',
      ['stop_run', 'cancel_waits', 'notify_parent', 'reroute_inbox'],
      RELEASED,
    ),
    'lease_expired (expired)': to('QUEUED', 'lease_expired', ['stop_run', 'schedule_retry'], {
      ...RELEASED,
      attempt: 2,
      runAfter: NOW + 20_000 + 1_000,
      runSeq: 3,
    }),
    'lease_expired (live)': rejected('lease_live'),
    // A graceful shutdown gives the work back for another run; no attempt is used up.
    release: to('QUEUED', 'released', ['stop_run', 'enqueue'], {
      ...RELEASED,
      attempt: 1,
      runSeq: 3,
    }),
    pause: to('RUNNING', 'pause_requested', [], { pauseRequested: true, leaseOwner: 'worker-a' }),
    resume: INVALID,
    cancel: to('RUNNING', 'cancel_requested', [], {
      cancelRequested: true,
      leaseOwner: 'worker-a',
    }),
  },

  'RUNNING, pause requested': {
    ...RUNNING_REJECTS,
    heartbeat: to('RUNNING', 'heartbeat', [], {
      pauseRequested: true,
      leaseExpiresAt: NOW + 30_000,
    }),
    // The step boundary is where a requested pause lands; it resumes by running again.
    step_completed: to('PAUSED', 'paused', ['stop_run'], {
      ...RELEASED,
      pausedFrom: 'QUEUED',
      pauseRequested: false,
      checkpointSeq: 5,
    }),
    // Paused while opening a wait: resume goes back to waiting, not to a new run.
    open_wait: to('PAUSED', 'paused', ['stop_run'], {
      ...RELEASED,
      pausedFrom: 'WAITING',
      pauseRequested: false,
      checkpointSeq: 5,
    }),
    complete: to('COMPLETED', 'completed', ['stop_run', 'notify_parent', 'reroute_inbox'], {
      ...RELEASED,
      pauseRequested: false,
    }),
    // The pause wins over the retry; the backoff is kept for when it resumes.
    'fail (retryable)': to('PAUSED', 'retry_scheduled', ['stop_run'], {
      ...RELEASED,
      pausedFrom: 'QUEUED',
      pauseRequested: false,
      attempt: 2,
      runAfter: NOW + 1_000,
    }),
    'fail (non-retryable)': to(
      'FAILED',
      'failed',
      ['stop_run', 'cancel_waits', 'notify_parent', 'reroute_inbox'],
      {
        ...RELEASED,
        pauseRequested: false,
      },
    ),
    'lease_expired (expired)': to('PAUSED', 'lease_expired', ['stop_run'], {
      ...RELEASED,
      pausedFrom: 'QUEUED',
      pauseRequested: false,
      attempt: 2,
    }),
    'lease_expired (live)': rejected('lease_live'),
    release: to('PAUSED', 'paused', ['stop_run'], {
      ...RELEASED,
      pausedFrom: 'QUEUED',
      pauseRequested: false,
    }),
    pause: INVALID,
    resume: to('RUNNING', 'resumed', [], { pauseRequested: false, leaseOwner: 'worker-a' }),
    cancel: to('RUNNING', 'cancel_requested', [], { cancelRequested: true, pauseRequested: true }),
  },

  'RUNNING, cancel requested': {
    ...RUNNING_REJECTS,
    heartbeat: to('RUNNING', 'heartbeat', [], { cancelRequested: true }),
    step_completed: cancelledNow({ checkpointSeq: 5 }),
    open_wait: cancelledNow({ checkpointSeq: 5 }),
    // Finishing is the last boundary: the result exists, so it stands.
    complete: to('COMPLETED', 'completed', ['stop_run', 'notify_parent', 'reroute_inbox'], {
      ...RELEASED,
      cancelRequested: false,
    }),
    // A pending cancel wins over a retry and over failing.
    'fail (retryable)': CANCELLED_NOW,
    'fail (non-retryable)': CANCELLED_NOW,
    'lease_expired (expired)': CANCELLED_NOW,
    'lease_expired (live)': rejected('lease_live'),
    release: CANCELLED_NOW,
    pause: to('RUNNING', 'pause_requested', [], { pauseRequested: true, cancelRequested: true }),
    resume: INVALID,
    cancel: INVALID,
  },

  WAITING: {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    wait_satisfied: to('QUEUED', 'wait_satisfied', ['enqueue'], { runSeq: 3, runAfter: null }),
    timer_fired: to('QUEUED', 'timer_fired', ['enqueue'], { runSeq: 3 }),
    'wait_timed_out (fail)': to(
      'FAILED',
      'wait_timed_out',
      ['cancel_waits', 'notify_parent', 'reroute_inbox'],
      RELEASED,
    ),
    'wait_timed_out (resume)': to('QUEUED', 'wait_timed_out', ['enqueue'], { runSeq: 3 }),
    pause: to('PAUSED', 'paused', [], { pausedFrom: 'WAITING' }),
    resume: INVALID,
    cancel: CANCELLED_NOW,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  'PAUSED from QUEUED': {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    ...NOT_WAITING,
    pause: INVALID,
    resume: to('QUEUED', 'resumed', ['enqueue'], { pausedFrom: null, runSeq: 3 }),
    cancel: CANCELLED_NOW,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  'PAUSED from WAITING': {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    // An answer while paused is kept: the work will run when resumed.
    wait_satisfied: to('PAUSED', 'wait_satisfied', [], { pausedFrom: 'QUEUED', runSeq: 2 }),
    // Timers do not fire while paused; resume fires those that fell due.
    timer_fired: INVALID,
    'wait_timed_out (fail)': INVALID,
    'wait_timed_out (resume)': INVALID,
    pause: INVALID,
    resume: to('WAITING', 'resumed', ['fire_due_waits'], { pausedFrom: null, runSeq: 2 }),
    cancel: CANCELLED_NOW,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  COMPLETED: {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    ...NOT_WAITING,
    pause: INVALID,
    resume: INVALID,
    cancel: INVALID,
    retry: INVALID,
    rerun_from_step: RERUN,
  },

  FAILED: {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    ...NOT_WAITING,
    pause: INVALID,
    resume: INVALID,
    cancel: INVALID,
    retry: to('QUEUED', 'retried', ['enqueue'], { runSeq: 3, attempt: 1, checkpointSeq: 4 }),
    rerun_from_step: RERUN,
  },

  CANCELLED: {
    create: EXISTS,
    claim: INVALID,
    ...NOT_RUNNING,
    ...NOT_WAITING,
    pause: INVALID,
    resume: INVALID,
    cancel: INVALID,
    retry: to('QUEUED', 'retried', ['enqueue'], { runSeq: 3, attempt: 1, checkpointSeq: 4 }),
    rerun_from_step: RERUN,
  },
};

const describeExpected = (e: Expected) =>
  e.ok
    ? `${e.state} (${e.event}${e.effects.length ? `; ${[...e.effects].sort().join(', ')}` : ''})`
    : `rejected: ${e.code}`;

const ROWS = (Object.keys(TABLE) as StateLabel[]).flatMap((state) =>
  (Object.keys(TABLE[state]) as CommandLabel[]).map(
    (command) =>
      [state, command, describeExpected(TABLE[state][command]), TABLE[state][command]] as const,
  ),
);

describe(transition.name, () => {
  describe('state × command table', () => {
    // The Record types already force every (state, command label) pair; this checks
    // that the labels span every command type there is.
    it('covers every starting state with every command type', () => {
      for (const state of Object.keys(TABLE) as StateLabel[]) {
        const covered = new Set(
          (Object.keys(TABLE[state]) as CommandLabel[]).map(
            (label) => COMMANDS[label](STATES[state]).type,
          ),
        );
        expect([...covered].sort()).toEqual([...WORK_COMMAND_TYPES].sort());
      }
    });

    it.each(ROWS)('%s + %s → %s', (stateLabel, commandLabel, _description, expected) => {
      const work = STATES[stateLabel];
      const before = structuredClone(work);
      const result = transition(work, COMMANDS[commandLabel](work));

      // transition is pure: whatever it decides, its input is untouched.
      expect(work).toEqual(before);

      if (!expected.ok) {
        expect(result).toMatchObject({
          ok: false,
          code: expected.code,
          state: work?.state ?? null,
        });
        return;
      }
      if (!result.ok) throw new Error(`expected acceptance, got ${result.code}: ${result.reason}`);
      expect(result.next.state).toBe(expected.state);
      expect(result.event).toBe(expected.event);
      expect(result.effects.map((e) => e.type).sort()).toEqual([...expected.effects].sort());
      if (expected.next) expect(result.next).toMatchObject(expected.next);
      // Every accepted write bumps the version the ledger's conditional UPDATE checks.
      expect(result.next.version).toBe(work ? work.version + 1 : 0);
      // A lease exactly while RUNNING.
      expect(result.next.leaseOwner !== null).toBe(result.next.state === 'RUNNING');
      expect(result.next.leaseExpiresAt !== null).toBe(result.next.state === 'RUNNING');
      // pausedFrom exactly while PAUSED.
      expect(result.next.pausedFrom !== null).toBe(result.next.state === 'PAUSED');
    });
  });

  describe('fencing', () => {
    const running = snapshot('RUNNING', { leaseToken: 7n });
    const fenced = (type: WorkCommandType, t: bigint): WorkCommand => {
      const label = (Object.keys(COMMANDS) as CommandLabel[]).find(
        (l) => COMMANDS[l](running).type === type,
      )!;
      return { ...COMMANDS[label](running), token: t } as WorkCommand;
    };

    it.each(
      FENCED_COMMANDS.flatMap((type) => [
        [type, 6n] as const,
        [type, 8n] as const,
        [type, 0n] as const,
      ]),
    )('%s with token %s on a work holding token 7 is rejected as stale', (type, staleToken) => {
      expect(transition(running, fenced(type, staleToken))).toMatchObject({
        ok: false,
        code: 'stale_lease',
      });
    });

    it('rejects the first owner after the lease was swept and the work claimed again', () => {
      const claimedByA = transition(snapshot('QUEUED'), {
        type: 'claim',
        owner: 'a',
        leaseMs: 1_000,
        now: NOW,
      });
      if (!claimedByA.ok) throw new Error(claimedByA.reason);
      const tokenA = claimedByA.next.leaseToken;
      const swept = transition(claimedByA.next, {
        type: 'lease_expired',
        token: tokenA,
        now: NOW + 1_000,
        random: 0,
      });
      if (!swept.ok) throw new Error(swept.reason);
      const claimedByB = transition(swept.next, {
        type: 'claim',
        owner: 'b',
        leaseMs: 1_000,
        now: NOW + 60_000,
      });
      if (!claimedByB.ok) throw new Error(claimedByB.reason);

      expect(claimedByB.next.leaseToken).toBe(tokenA + 1n);
      expect(transition(claimedByB.next, { type: 'complete', token: tokenA })).toMatchObject({
        ok: false,
        code: 'stale_lease',
      });
      expect(transition(claimedByB.next, { type: 'complete', token: tokenA + 1n })).toMatchObject({
        ok: true,
        event: 'completed',
      });
    });
  });

  describe('retries', () => {
    it('fails for good once maxAttempts attempts have failed', () => {
      const last = snapshot('RUNNING', { attempt: FIXTURE_POLICY.maxAttempts });
      const result = transition(last, {
        type: 'fail',
        token: 3n,
        retryable: true,
        now: NOW,
        random: 0,
      });
      expect(result).toMatchObject({
        ok: true,
        event: 'failed',
        next: { state: 'FAILED', attempt: 3 },
      });
    });

    it('records a swept lease on the last attempt as lease_expired, and fails', () => {
      const last = snapshot('RUNNING', { attempt: FIXTURE_POLICY.maxAttempts });
      const result = transition(last, {
        type: 'lease_expired',
        token: 3n,
        now: NOW + 20_000,
        random: 0,
      });
      expect(result).toMatchObject({ ok: true, event: 'lease_expired', next: { state: 'FAILED' } });
    });

    it('stops at once on an error code the policy lists as non-retryable', () => {
      const result = transition(snapshot('RUNNING'), {
        type: 'fail',
        token: 3n,
        errorCode: 'bad_input',
        retryable: true,
        now: NOW,
        random: 0,
      });
      expect(result).toMatchObject({
        ok: true,
        event: 'failed',
        next: { state: 'FAILED', attempt: 1 },
      });
    });

    it('schedules the retry at the backoff and names the next attempt', () => {
      const second = snapshot('RUNNING', { attempt: 2 });
      const result = transition(second, {
        type: 'fail',
        token: 3n,
        retryable: true,
        now: NOW,
        random: 0,
      });
      if (!result.ok) throw new Error(result.reason);
      // attempt 2 failed: initialIntervalMs · coefficient¹.
      expect(result.effects).toContainEqual({
        type: 'schedule_retry',
        at: NOW + 2_000,
        attempt: 3,
      });
      expect(result.next).toMatchObject({ state: 'QUEUED', attempt: 3, runAfter: NOW + 2_000 });
    });

    it('lets a claim through once the backoff is due', () => {
      const backoff = STATES['QUEUED in backoff'];
      expect(
        transition(backoff, { type: 'claim', owner: 'w', leaseMs: 1, now: NOW + 4_999 }),
      ).toMatchObject({ ok: false, code: 'not_due' });
      expect(
        transition(backoff, { type: 'claim', owner: 'w', leaseMs: 1, now: NOW + 5_000 }),
      ).toMatchObject({
        ok: true,
        next: { state: 'RUNNING', runAfter: null },
      });
    });

    it('keeps the backoff across a pause and resume', () => {
      const paused = transition(STATES['QUEUED in backoff'], { type: 'pause' });
      if (!paused.ok) throw new Error(paused.reason);
      const resumed = transition(paused.next, { type: 'resume' });
      expect(resumed).toMatchObject({ ok: true, next: { state: 'QUEUED', runAfter: NOW + 5_000 } });
    });
  });

  describe('operator commands', () => {
    it('reruns from step N: keeps steps before N and discards the rest', () => {
      const result = transition(snapshot('FAILED', { checkpointSeq: 9, attempt: 3 }), {
        type: 'rerun_from_step',
        seq: 4,
      });
      if (!result.ok) throw new Error(result.reason);
      expect(result.next).toMatchObject({ state: 'QUEUED', checkpointSeq: 3, attempt: 1 });
      expect(result.effects).toContainEqual({ type: 'discard_steps_from', seq: 4 });
    });

    it('never moves the checkpoint forward on a rerun past it', () => {
      const result = transition(snapshot('FAILED', { checkpointSeq: 2 }), {
        type: 'rerun_from_step',
        seq: 8,
      });
      expect(result).toMatchObject({ ok: true, next: { checkpointSeq: 2 } });
    });

    it('rejects a rerun from a step before the first', () => {
      expect(transition(snapshot('FAILED'), { type: 'rerun_from_step', seq: 0 })).toMatchObject({
        ok: false,
        code: 'invalid_state',
      });
    });

    it('clears pending requests on retry', () => {
      const result = transition(snapshot('CANCELLED', { attempt: 4 }), { type: 'retry' });
      expect(result).toMatchObject({
        ok: true,
        next: {
          state: 'QUEUED',
          attempt: 1,
          pauseRequested: false,
          cancelRequested: false,
          pausedFrom: null,
        },
      });
    });
  });

  describe('create', () => {
    it('starts at attempt 1, token 0, version 0 with the given policy', () => {
      const result = transition(null, { type: 'create', retryPolicy: DEFAULT_RETRY_POLICY });
      expect(result).toEqual({
        ok: true,
        event: 'created',
        effects: [{ type: 'enqueue', runSeq: 1 }],
        next: {
          state: 'QUEUED',
          pausedFrom: null,
          attempt: 1,
          retryPolicy: DEFAULT_RETRY_POLICY,
          runSeq: 1,
          leaseOwner: null,
          leaseToken: 0n,
          leaseExpiresAt: null,
          runAfter: null,
          pauseRequested: false,
          cancelRequested: false,
          checkpointSeq: 0,
          version: 0,
        },
      });
    });
  });

  it('enqueues the job for the runSeq it moved to', () => {
    for (const [label, command] of [
      ['WAITING', { type: 'wait_satisfied' }],
      ['PAUSED from QUEUED', { type: 'resume' }],
      ['FAILED', { type: 'retry' }],
    ] as const) {
      const result = transition(STATES[label], command);
      if (!result.ok) throw new Error(result.reason);
      expect(result.effects).toContainEqual({ type: 'enqueue', runSeq: result.next.runSeq });
      expect(result.next.runSeq).toBe(STATES[label].runSeq + 1);
    }
  });
});
