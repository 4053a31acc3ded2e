import { ErrorCode, WorkgateError } from '@app/core';
import { defineWorkflow, NonRetryableError } from '@app/engine';
import {
  type EngineHarness,
  eventsOfType,
  gate,
  type Gate,
  startEngine,
} from '@test/engine-ledger';
import { jobIdsIn } from '@test/queue';
import { until } from '@test/until';

/** How many times each step body ran, per test (module-level: survives re-runs). */
const ran = new Map<string, number>();
const count = (name: string) => ran.set(name, (ran.get(name) ?? 0) + 1);
const times = (name: string) => ran.get(name) ?? 0;

const sleepy = defineWorkflow('control.sleepy', async (ctx) => {
  // Long enough for the test to pause it first, even on a busy machine.
  await ctx.sleep(800);
  await ctx.step('after-sleep', () => count('sleepy.after'));
  return 'woke';
});

const stepGates = new Map<string, Gate>();
const stepper = defineWorkflow('control.stepper', async (ctx, input: { tag: string }) => {
  await ctx.step('one', () => {
    count(`${input.tag}.one`);
    return stepGates.get(input.tag)!.promise;
  });
  await ctx.step('two', () => count(`${input.tag}.two`));
  return 'done';
});

/** Waits in a step for its abort signal; the step's own policy would retry it inline. */
const aborts: Array<{ attempt: number; reason: string }> = [];
const abortable = defineWorkflow('control.abortable', async (ctx) => {
  await ctx.step(
    'long-call',
    ({ signal, attempt }) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborts.push({ attempt, reason: (signal.reason as Error).name });
          reject(signal.reason as Error);
        });
      }),
    { retry: { maxAttempts: 3, initialIntervalMs: 50 } },
  );
  await ctx.step('never', () => count('abortable.never'));
});

/** Waits between two steps outside any step (plain code), held by the test. */
const between = gate();
const betweenSteps = defineWorkflow('control.between', async (ctx) => {
  await ctx.step('one', () => 1);
  await between.promise;
  // Respects its signal; the timeout only bounds the test if a cancel is not heard.
  await ctx.step(
    'two',
    ({ signal }) => {
      count('between.two');
      return new Promise((resolve) => signal.addEventListener('abort', resolve));
    },
    { timeout: 3_000 },
  );
});

const asker = defineWorkflow('control.asker', async (ctx) => {
  const v = await ctx.ask<string>({ text: 'ok?', to: { channel: 'nowhere', target: 'ops' } });
  return { v };
});

/** Fails at step two until the test "deploys a fix". */
let broken = true;
const flaky = defineWorkflow(
  'control.flaky',
  async (ctx) => {
    const one = await ctx.step('one', () => {
      count('flaky.one');
      return 1;
    });
    const two = await ctx.step('two', () => {
      count('flaky.two');
      if (broken) throw new NonRetryableError('bad config', 'bad_config');
      return one + 1;
    });
    return { two };
  },
  { retry: { maxAttempts: 5 } },
);

/** Asks with a deadline that fails the work; a retry asks again. */
const deadline = defineWorkflow('control.deadline', async (ctx) => {
  const v = await ctx.ask<string>({
    text: 'quick!',
    to: { channel: 'nowhere', target: 'ops' },
    timeout: 200,
    onTimeout: 'fail',
  });
  return { v };
});

const pipeline = defineWorkflow('control.pipeline', async (ctx, input: { tag: string }) => {
  const a = await ctx.step('a', () => {
    count(`${input.tag}.a`);
    return times(`${input.tag}.a`);
  });
  const b = await ctx.step('b', () => {
    count(`${input.tag}.b`);
    return times(`${input.tag}.b`);
  });
  const c = await ctx.step('c', () => {
    count(`${input.tag}.c`);
    return times(`${input.tag}.c`);
  });
  return { a, b, c };
});

const sender = defineWorkflow('control.sender', async (ctx) => {
  const sent = await ctx.send({ channel: 'nowhere', target: 'ops' }, { text: 'report' });
  return sent.outboxId;
});

describe('engine control: pause, resume, cancel, retry, rerun', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    // A short lease: heartbeats (lease/3) are how a running step learns of a cancel.
    h = await startEngine(
      'eng_control',
      [sleepy, stepper, abortable, betweenSteps, asker, flaky, deadline, pipeline, sender],
      { lease: '1200ms' },
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  const start = async (kind: string, input: unknown = {}) =>
    (await h.worker.control.start(kind, input, { actor: 'test' })).workId!;

  const runningStep = (workId: string, name: string) =>
    until(
      async () =>
        (await h.ledger.work(workId)).state === 'RUNNING' &&
        (await h.ledger.steps(workId)).some((s) => s.name === name && s.status === 'running'),
      `work ${workId} to be running step ${name}`,
    );

  it('pauses a WAITING work; a timer that falls due while paused fires on resume', async () => {
    const workId = await start('control.sleepy');
    await h.ledger.untilState(workId, 'WAITING');
    const [timer] = await h.ledger.waits(workId);
    expect(await h.worker.control.pause(workId, 'operator:ana')).toMatchObject({
      state: 'PAUSED',
      event: 'paused',
    });
    expect(await h.ledger.work(workId)).toMatchObject({ state: 'PAUSED', pausedFrom: 'WAITING' });

    // The timer comes due and its job runs while the work is paused: nothing fires.
    await until(
      async () =>
        Date.now() > timer!.timeoutAt!.getTime() &&
        !(await jobIdsIn(h.prefix, 'wake')).includes(`wait:${timer!.id}:0`),
      'the sleep timer to come due and its job to be handled',
    );
    await h.worker.reconciler.reconcile(); // the reconciler's due-timer sweep also holds off
    expect(await h.ledger.work(workId)).toMatchObject({ state: 'PAUSED' });
    expect((await h.ledger.waits(workId))[0]!.status).toBe('open');
    expect(await h.ledger.types(workId)).not.toContain('timer_fired');
    expect(times('sleepy.after')).toBe(0);

    expect(await h.worker.control.resume(workId, 'operator:ana')).toMatchObject({
      state: 'WAITING',
      event: 'resumed',
    });
    const done = await h.ledger.untilState(workId, 'COMPLETED');
    expect(done.output).toBe('woke');
    const timeline = await h.ledger.timeline(workId);
    const resumed = eventsOfType(timeline, 'resumed')[0]!;
    const fired = eventsOfType(timeline, 'timer_fired')[0]!;
    expect(fired.seq).toBeGreaterThan(resumed.seq);
    expect(resumed.actor).toBe('operator:ana');
    expect(eventsOfType(timeline, 'paused')[0]!.actor).toBe('operator:ana');
  });

  it('pauses a RUNNING work at its next step boundary, and resumes it', async () => {
    const tag = 'pause-running';
    stepGates.set(tag, gate());
    const workId = await start('control.stepper', { tag });
    await runningStep(workId, 'one');

    expect(await h.worker.control.pause(workId, 'operator:ana')).toMatchObject({
      state: 'RUNNING',
      event: 'pause_requested',
    });
    expect(await h.ledger.work(workId)).toMatchObject({ state: 'RUNNING', pauseRequested: true });
    stepGates.get(tag)!.open();
    const paused = await h.ledger.untilState(workId, 'PAUSED');
    expect(paused).toMatchObject({ pausedFrom: 'QUEUED', pauseRequested: false });
    // The step in flight finished and was recorded; the next one did not start.
    const steps = await h.ledger.steps(workId);
    expect(steps.map((s) => [s.name, s.status])).toEqual([['one', 'completed']]);
    expect(times(`${tag}.two`)).toBe(0);

    await h.worker.control.resume(workId, 'operator:ana');
    await h.ledger.untilState(workId, 'COMPLETED');
    expect([times(`${tag}.one`), times(`${tag}.two`)]).toEqual([1, 1]);
    const types = await h.ledger.types(workId);
    expect(types.filter((t) => ['pause_requested', 'paused', 'resumed'].includes(t))).toEqual([
      'pause_requested',
      'paused',
      'resumed',
    ]);
  });

  it("cancels a RUNNING work: the step's abort signal fires, the work ends CANCELLED", async () => {
    const workId = await start('control.abortable');
    await runningStep(workId, 'long-call');
    expect(await h.worker.control.cancel(workId, 'operator:ana')).toMatchObject({
      state: 'RUNNING',
      event: 'cancel_requested',
    });
    const cancelled = await h.ledger.untilState(workId, ['CANCELLED', 'FAILED', 'COMPLETED']);
    expect(cancelled.state).toBe('CANCELLED');
    // Aborted once, and not retried by the step's own policy: a cancel is not a failure.
    expect(aborts).toEqual([{ attempt: 1, reason: 'CancelRequested' }]);
    expect(times('abortable.never')).toBe(0);
    const steps = await h.ledger.steps(workId);
    expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([['long-call', 'failed', 1]]);
    const types = await h.ledger.types(workId);
    expect(types.slice(-2)).toEqual(['cancel_requested', 'cancelled']);
    expect(types).not.toContain('retry_scheduled');
  });

  it('a cancel heard between two steps stops the run before the next step starts', async () => {
    const workId = await start('control.between');
    await until(
      async () =>
        (await h.ledger.steps(workId)).some((s) => s.name === 'one' && s.status === 'completed'),
      'step one to complete',
    );
    await h.worker.control.cancel(workId, 'operator:ana');
    const requested = eventsOfType(await h.ledger.timeline(workId), 'cancel_requested')[0]!;
    // A heartbeat after the request is how the run learns of it.
    await until(
      async () => (await h.ledger.work(workId)).lastHeartbeatAt! > requested.at,
      'a heartbeat after the cancel request',
    );
    between.open();
    const cancelled = await h.ledger.untilState(workId, ['CANCELLED', 'FAILED', 'COMPLETED']);
    expect(cancelled.state).toBe('CANCELLED');
    expect(times('between.two')).toBe(0);
    // The run hears the cancel when the heartbeat's answer reaches it, a moment after the
    // test can see that heartbeat in the ledger: step two may be recorded in that moment
    // (seen under load), but its body never runs and it never completes.
    const steps = await h.ledger.steps(workId);
    expect(steps.map((s) => [s.name, s.status === 'completed'])).toEqual(
      steps.length === 1
        ? [['one', true]]
        : [
            ['one', true],
            ['two', false],
          ],
    );
  });

  it('cancels a WAITING work at once and closes its wait', async () => {
    const workId = await start('control.asker');
    await h.ledger.untilState(workId, 'WAITING');
    expect(await h.worker.control.cancel(workId, 'operator:ana')).toMatchObject({
      state: 'CANCELLED',
      event: 'cancelled',
    });
    expect((await h.ledger.waits(workId))[0]!.status).toBe('cancelled');
    await expect(h.worker.control.signal(workId, 'yes', 'operator:ana')).rejects.toThrow(
      /CANCELLED and has no open wait/,
    );
  });

  it('retries a FAILED work: completed steps are kept, the failed one runs again', async () => {
    broken = true;
    const workId = await start('control.flaky');
    const failed = await h.ledger.untilState(workId, 'FAILED');
    expect(failed).toMatchObject({ attempt: 1, error: { code: 'bad_config' } });

    broken = false; // the fix is deployed
    expect(await h.worker.control.retry(workId, 'operator:ana')).toMatchObject({
      state: 'QUEUED',
      event: 'retried',
    });
    const done = await h.ledger.untilState(workId, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ state: 'COMPLETED', output: { two: 2 }, attempt: 1 });
    expect([times('flaky.one'), times('flaky.two')]).toEqual([1, 2]);
    const steps = await h.ledger.steps(workId);
    expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['one', 'completed', 1],
      ['two', 'completed', 2],
    ]);
    const retried = eventsOfType(await h.ledger.timeline(workId), 'retried');
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({
      actor: 'operator:ana',
      data: { from: 'FAILED', to: 'QUEUED' },
    });
  });

  it('retrying a work whose question timed out asks again, with a prompt for the new wait', async () => {
    const workId = await start('control.deadline');
    const failed = await h.ledger.untilState(workId, 'FAILED');
    expect(failed.error).toMatchObject({ code: 'wait_timed_out' });
    const [oldWait] = await h.ledger.waits(workId);

    await h.worker.control.retry(workId, 'operator:ana');
    const newWait = await until(
      async () =>
        (await h.ledger.waits(workId)).find((w) => w.id !== oldWait!.id && w.status === 'open'),
      'a new wait after the retry',
    );
    const prompts = await h.db.query<any>(
      `SELECT payload FROM "Outbox" WHERE "workId" = $1 AND payload->>'kind' = 'ask' ORDER BY "createdAt"`,
      [workId],
    );
    expect(prompts.map((p) => p.payload.waitId)).toEqual([oldWait!.id, newWait.id]);
    await h.worker.control.signal(workId, 'now', 'operator:ana');
    expect((await h.ledger.untilState(workId, 'COMPLETED')).output).toEqual({ v: 'now' });
  });

  it('reruns from step N: steps before N are kept, the rest run again, in the timeline', async () => {
    const tag = 'rerun';
    const workId = await start('control.pipeline', { tag });
    expect((await h.ledger.untilState(workId, 'COMPLETED')).output).toEqual({ a: 1, b: 1, c: 1 });
    const before = await h.ledger.steps(workId);

    expect(await h.worker.control.rerunFromStep(workId, 2, 'operator:ana')).toMatchObject({
      state: 'QUEUED',
      event: 'rerun',
    });
    await until(
      async () => (await h.ledger.types(workId)).filter((t) => t === 'completed').length === 2,
      'the rerun to complete',
    );
    const done = await h.ledger.work(workId);
    expect(done.output).toEqual({ a: 1, b: 2, c: 2 });
    expect([times(`${tag}.a`), times(`${tag}.b`), times(`${tag}.c`)]).toEqual([1, 2, 2]);
    const after = await h.ledger.steps(workId);
    expect(after.map((s) => [s.seq, s.name, s.status])).toEqual([
      [1, 'a', 'completed'],
      [2, 'b', 'completed'],
      [3, 'c', 'completed'],
    ]);
    // Step 1 is the same record; 2 and 3 are new ones.
    expect(after[0]!.id).toBe(before[0]!.id);
    expect(after[1]!.id).not.toBe(before[1]!.id);
    expect(after[2]!.id).not.toBe(before[2]!.id);

    const timeline = await h.ledger.timeline(workId);
    const rerun = eventsOfType(timeline, 'rerun');
    expect(rerun).toHaveLength(1);
    expect(rerun[0]).toMatchObject({
      actor: 'operator:ana',
      data: { from: 'COMPLETED', to: 'QUEUED', fromSeq: 2, discarded: ['b', 'c'] },
    });
  });

  it('a rerun sends again: the re-run ctx.send is a new step with a new idempotency key', async () => {
    const workId = await start('control.sender');
    const first = (await h.ledger.untilState(workId, 'COMPLETED')).output as string;
    await h.worker.control.rerunFromStep(workId, 1, 'operator:ana');
    await until(
      async () => (await h.ledger.types(workId)).filter((t) => t === 'completed').length === 2,
      'the rerun to complete',
    );
    const second = (await h.ledger.work(workId)).output as string;
    expect(second).not.toBe(first);
    const outbox = await h.db.query<{ id: string; idempotencyKey: string; stepId: string }>(
      'SELECT id, "idempotencyKey", "stepId" FROM "Outbox" WHERE "workId" = $1 ORDER BY "createdAt"',
      [workId],
    );
    expect(outbox.map((o) => o.id)).toEqual([first, second]);
    const [step] = await h.ledger.steps(workId);
    expect(outbox[1]!.stepId).toBe(step!.id);
    expect(outbox[1]!.idempotencyKey).toBe(step!.idempotencyKey);
    expect(outbox[0]!.idempotencyKey).not.toBe(outbox[1]!.idempotencyKey);
  });

  it('refuses forbidden transitions with an error naming the state, writing nothing', async () => {
    const tag = 'forbidden';
    stepGates.set(tag, gate());
    const running = await start('control.stepper', { tag });
    await runningStep(running, 'one');
    const waiting = await start('control.asker');
    await h.ledger.untilState(waiting, 'WAITING');
    const finished = await start('control.pipeline', { tag });
    await h.ledger.untilState(finished, 'COMPLETED');

    const refusals: Array<[string, () => Promise<unknown>, RegExp]> = [
      [
        'resume WAITING',
        () => h.worker.control.resume(waiting, 'op'),
        /only a PAUSED work can be resumed, this one is WAITING/,
      ],
      [
        'retry WAITING',
        () => h.worker.control.retry(waiting, 'op'),
        /only a FAILED or CANCELLED work can be retried, this one is WAITING/,
      ],
      [
        'rerun RUNNING',
        () => h.worker.control.rerunFromStep(running, 1, 'op'),
        /a RUNNING work cannot be rerun/,
      ],
      [
        'pause COMPLETED',
        () => h.worker.control.pause(finished, 'op'),
        /a COMPLETED work cannot be paused/,
      ],
      [
        'cancel COMPLETED',
        () => h.worker.control.cancel(finished, 'op'),
        /a COMPLETED work cannot be cancelled/,
      ],
      ['retry COMPLETED', () => h.worker.control.retry(finished, 'op'), /this one is COMPLETED/],
      [
        'signal COMPLETED',
        () => h.worker.control.signal(finished, 'x', 'op'),
        /COMPLETED and has no open wait/,
      ],
      [
        'rerun from 0',
        () => h.worker.control.rerunFromStep(finished, 0, 'op'),
        /steps are numbered from 1/,
      ],
    ];
    const before = await Promise.all(
      [running, waiting, finished].map((id) => h.ledger.timeline(id)),
    );
    for (const [what, act, message] of refusals) {
      const err = await act().then(
        () => new Error(`${what} was accepted`),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkgateError);
      expect({ what, code: (err as WorkgateError).code }).toEqual({
        what,
        code: ErrorCode.InvalidTransition,
      });
      expect((err as Error).message).toMatch(message);
    }
    // A pause on a RUNNING work is accepted once; asking again is refused.
    await h.worker.control.pause(running, 'op');
    await expect(h.worker.control.pause(running, 'op')).rejects.toThrow(/already requested/);
    await expect(
      h.worker.control.pause('01890000-0000-7000-8000-000000000000', 'op'),
    ).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });

    // Nothing was written by the refusals (the one accepted pause aside).
    const after = await Promise.all(
      [running, waiting, finished].map((id) => h.ledger.timeline(id)),
    );
    expect(after[1]).toEqual(before[1]);
    expect(after[2]).toEqual(before[2]);
    expect(after[0]!.slice(before[0]!.length).map((e) => e.type)).toEqual(['pause_requested']);
    stepGates.get(tag)!.open();
    await h.ledger.untilState(running, 'PAUSED');
  });
});
