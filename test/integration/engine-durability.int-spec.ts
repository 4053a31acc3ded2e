import { defineWorkflow } from '@app/engine';
import { type EngineHarness, gate, startEngine } from '@test/engine-ledger';
import { until } from '@test/until';

/**
 * Durability modes (docs/guarantees.md, "Durability modes"): a `batched` run's steps
 * have no row while they run; their results are committed together at the run's next
 * write (a wait, a `step` step, the end) or when the batch reaches its limits, each row
 * with an id and idempotency key derived from the work, its step epoch and the position.
 */
const held = gate();
const heldStarted = gate();
const limitHeld = gate();
const limitStarted = gate();
const delayHeld = gate();
const delayStarted = gate();
let failOnce = 0;
const keysSeen: string[] = [];

const flows = [
  defineWorkflow(
    'dur.three',
    async (ctx) => {
      const a = await ctx.step('one', () => 1);
      const b = await ctx.step('two', () => a + 1);
      return ctx.step('three', ({ idempotencyKey }) => {
        keysSeen.push(idempotencyKey);
        return b + 1;
      });
    },
    { durability: 'batched' },
  ),
  defineWorkflow(
    'dur.before-wait',
    async (ctx) => {
      await ctx.step('one', () => 'a');
      await ctx.step('two', () => 'b');
      await ctx.sleep('1h');
      return 'never';
    },
    { durability: 'batched' },
  ),
  defineWorkflow('dur.mixed', async (ctx) => {
    const a = await ctx.step('batched-a', () => 'a', { durability: 'batched' });
    const b = await ctx.step('step-b', async () => {
      heldStarted.open();
      await held.promise;
      return 'b';
    });
    const c = await ctx.step('batched-c', () => 'c', { durability: 'batched' });
    return a + b + c;
  }),
  defineWorkflow(
    'dur.max-steps',
    async (ctx) => {
      for (const name of ['one', 'two', 'three']) await ctx.step(name, () => name);
      await ctx.step('held', async () => {
        limitStarted.open();
        await limitHeld.promise;
      });
      return 'done';
    },
    { durability: 'batched', batch: { maxSteps: 2, maxDelay: '1h' } },
  ),
  defineWorkflow(
    'dur.max-delay',
    async (ctx) => {
      await ctx.step('one', () => 1);
      await ctx.step('held', async () => {
        delayStarted.open();
        await delayHeld.promise;
      });
      return 'done';
    },
    { durability: 'batched', batch: { maxDelay: '20ms' } },
  ),
  defineWorkflow(
    'dur.fails-once',
    async (ctx) => {
      await ctx.step('before', () => 'ok');
      return ctx.step('flaky', ({ idempotencyKey, attempt }) => {
        keysSeen.push(`${idempotencyKey}#${attempt}`);
        if (failOnce++ === 0) throw new Error('first run fails');
        return 'recovered';
      });
    },
    { durability: 'batched', retry: { maxAttempts: 2, initialIntervalMs: 10 } },
  ),
];

describe('durability modes', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('durability', flows);
  });
  afterAll(async () => h?.close());

  it('commits a batched run’s steps with its completion, with derived ids and keys', async () => {
    const { workId } = await h.worker.control.start('dur.three', {}, { actor: 'test' });
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe(3);
    expect(done.checkpointSeq).toBe(3);
    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.seq, s.name, s.status, s.attempt, s.output])).toEqual([
      [1, 'one', 'completed', 1, { v: 1 }],
      [2, 'two', 'completed', 1, { v: 2 }],
      [3, 'three', 'completed', 1, { v: 3 }],
    ]);
    expect(steps.map((s) => s.idempotencyKey)).toEqual(
      steps.map((s) => `${workId}:${s.seq}:${s.id}`),
    );
    // The key the body saw is the one recorded.
    expect(keysSeen).toContain(steps[2]!.idempotencyKey);
    for (const s of steps) expect(s.finishedAt).toBeInstanceOf(Date);
    // One statement for the three steps and the completion: no step_completed entries.
    expect(await h.ledger.types(workId!)).toEqual(['created', 'claimed', 'completed']);
  });

  it('commits the batch before a wait suspends the run', async () => {
    const { workId } = await h.worker.control.start('dur.before-wait', {}, { actor: 'test' });
    await h.ledger.untilState(workId!, 'WAITING');
    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['one', 'completed'],
      ['two', 'completed'],
      ['sleep', 'running'],
    ]);
    expect((await h.ledger.work(workId!)).checkpointSeq).toBeGreaterThanOrEqual(2);
  });

  it('overrides per step: a step step commits the batch before it, and is on the record while it runs', async () => {
    const { workId } = await h.worker.control.start('dur.mixed', {}, { actor: 'test' });
    await heldStarted.promise;
    const running = await until(async () => {
      const steps = await h.ledger.steps(workId!);
      return steps.length === 2 ? steps : null;
    }, 'the batched step and the running step step on the record').finally(() => held.open());
    expect(running.map((s) => [s.name, s.status])).toEqual([
      ['batched-a', 'completed'],
      ['step-b', 'running'],
    ]);
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe('abc');
    expect((await h.ledger.steps(workId!)).map((s) => s.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('commits a batch on its own once it holds maxSteps steps', async () => {
    const { workId } = await h.worker.control.start('dur.max-steps', {}, { actor: 'test' });
    await limitStarted.promise;
    let committed: Array<{ name: string }>;
    try {
      committed = await until(async () => {
        const steps = await h.ledger.steps(workId!);
        return steps.length >= 2 ? steps : null;
      }, 'the first two steps committed at the batch limit');
    } finally {
      limitHeld.open();
    }
    expect(committed.map((s) => s.name)).toEqual(['one', 'two']); // 'three' waited for the next write
    await h.ledger.untilState(workId!, 'COMPLETED');
    expect((await h.ledger.steps(workId!)).map((s) => s.name)).toEqual([
      'one',
      'two',
      'three',
      'held',
    ]);
  });

  it('commits a batch on its own after maxDelay', async () => {
    const { workId } = await h.worker.control.start('dur.max-delay', {}, { actor: 'test' });
    await delayStarted.promise;
    try {
      await until(
        async () => (await h.ledger.steps(workId!)).some((s) => s.name === 'one'),
        'the first step committed after maxDelay while the second runs',
      );
    } finally {
      delayHeld.open();
    }
    await h.ledger.untilState(workId!, 'COMPLETED');
  });

  it('records a failed batched step, and the retry runs it on its row with the same key', async () => {
    const { workId } = await h.worker.control.start('dur.fails-once', {}, { actor: 'test' });
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe('recovered');
    const [before, flaky] = await h.ledger.steps(workId!);
    expect(before).toMatchObject({ name: 'before', status: 'completed', attempt: 1 });
    expect(flaky).toMatchObject({ name: 'flaky', status: 'completed', attempt: 2 });
    expect(keysSeen.filter((k) => k.startsWith(`${workId}:`))).toEqual([
      `${flaky!.idempotencyKey}#1`,
      `${flaky!.idempotencyKey}#2`,
    ]);
  });

  it('gives a rerun’s batched steps new keys, and keeps the ones before it', async () => {
    const { workId } = await h.worker.control.start('dur.three', {}, { actor: 'test' });
    await h.ledger.untilState(workId!, 'COMPLETED');
    const first = await h.ledger.steps(workId!);
    await h.worker.control.rerunFromStep(workId!, 2, 'test');
    await until(
      async () =>
        (await h.ledger.work(workId!)).state === 'COMPLETED' &&
        (await h.ledger.steps(workId!)).length === 3,
      'the rerun to complete',
    );
    const second = await h.ledger.steps(workId!);
    expect(second[0]!.idempotencyKey).toBe(first[0]!.idempotencyKey);
    expect(second[1]!.idempotencyKey).not.toBe(first[1]!.idempotencyKey);
    expect(second[2]!.idempotencyKey).not.toBe(first[2]!.idempotencyKey);
    expect((await h.ledger.work(workId!)).stepEpoch).toBe(1);
  });

  it('refuses a mistyped durability when the workflow is defined', () => {
    expect(() =>
      defineWorkflow('dur.bad', async () => undefined, { durability: 'often' as 'step' }),
    ).toThrow(/durability must be/);
    expect(() =>
      defineWorkflow('dur.bad', async () => undefined, { batch: { maxSteps: 0 } }),
    ).toThrow(/maxSteps/);
  });
});
