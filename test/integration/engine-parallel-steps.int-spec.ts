import fc from 'fast-check';
import { defineWorkflow } from '@app/engine';
import {
  correlatedEvent,
  type EngineHarness,
  type Gate,
  gate,
  startEngine,
} from '@test/engine-ledger';
import { until } from '@test/until';
import { IngestService } from '@app/ledger';

/**
 * Steps run side by side (`Promise.all`): each is recorded, and a replay returns each
 * recorded result (DESIGN, "Durable execution"). Counters live outside the system, so
 * "the body ran once" is seen from where the body runs, not from the ledger.
 */
const ran = new Map<string, number>();
const count = (workId: string, name: string) => {
  const key = `${workId}:${name}`;
  ran.set(key, (ran.get(key) ?? 0) + 1);
};
const runsOf = (workId: string, name: string) => ran.get(`${workId}:${name}`) ?? 0;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `groups`: groups of parallel steps, each step's delay in ms; one step after each group. */
type Shape = number[][];

const shaped = defineWorkflow('par.shaped', async (ctx, input: { groups: Shape }) => {
  const results: unknown[] = [];
  for (const [g, delays] of input.groups.entries()) {
    const group = await Promise.all(
      delays.map((ms, i) =>
        ctx.step(`g${g}s${i}`, async () => {
          count(ctx.workId, `g${g}s${i}`);
          if (ms > 0) await pause(ms);
          return { g, i, ms };
        }),
      ),
    );
    const after = await ctx.step(`g${g}after`, () => {
      count(ctx.workId, `g${g}after`);
      return group.length;
    });
    results.push({ group, after });
  }
  return results;
});

const mixed = defineWorkflow('par.mixed', async (ctx, input: { key: string }) => {
  const step = (name: string, ms: number) =>
    ctx.step(name, async () => {
      count(ctx.workId, name);
      await pause(ms);
      return name;
    });
  const all = await Promise.all([
    step('a', 30),
    ctx.send({ channel: 'nowhere', target: 'ops' }, { text: 'side by side' }),
    step('b', 0),
    ctx.sleep(100),
    step('c', 10),
    ctx.child<number>('par.child', { n: 3 }),
    step('d', 60),
    ctx.waitFor<{ ok: boolean }>({ match: input.key }),
    step('e', 5),
  ]);
  const tail = await step('tail', 0);
  return {
    all: all.map((v) => (v && typeof v === 'object' && 'outboxId' in v ? 'sent' : v)),
    tail,
  };
});

const child = defineWorkflow('par.child', async (ctx, input: { n: number }) => {
  const parts = await Promise.all([1, 2, 3].map((i) => ctx.step(`c${i}`, () => i * input.n)));
  return parts.reduce((a, b) => a + b, 0);
});

let hold = gate();
const pausable = defineWorkflow('par.pausable', async (ctx) => {
  const step = (name: string, wait: boolean) =>
    ctx.step(name, async () => {
      count(ctx.workId, name);
      if (wait) await hold.promise;
      return name;
    });
  const all = await Promise.all([step('a', false), step('b', true), step('c', true)]);
  const after = await step('after', false);
  return { all, after };
});

/** `width` steps side by side, each held on its own gate; its side effect counted once released. */
let holds: Array<Gate<void>> = [];
const held = defineWorkflow('par.held', async (ctx, input: { width: number }) => {
  const all = await Promise.all(
    Array.from({ length: input.width }, (_, i) =>
      ctx.step(`h${i}`, async () => {
        await holds[i]!.promise;
        count(ctx.workId, `h${i}`); // the side effect, after the hold
        return i;
      }),
    ),
  );
  const after = await ctx.step('after', () => {
    count(ctx.workId, 'after');
    return all.length;
  });
  return { all, after };
});

describe('parallel steps', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('par', [shaped, mixed, child, pausable, held], { concurrency: 16 });
  });
  afterAll(async () => {
    for (const hold of holds) hold.open(); // a failed test must not leave steps held
    await h?.close();
  });

  /** Every step completed once, with its output; the work's output is the recorded results. */
  async function expectRecorded(workId: string, groups: Shape) {
    const done = await h.ledger.untilState(workId, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.error).toBeNull();
    expect(done.state).toBe('COMPLETED');
    const steps = await h.ledger.steps(workId);
    const expected = groups.flatMap((delays, g) => [
      ...delays.map((ms, i) => ({ name: `g${g}s${i}`, output: { v: { g, i, ms } } })),
      { name: `g${g}after`, output: { v: delays.length } },
    ]);
    expect(
      steps.map((s) => ({ name: s.name, status: s.status, attempt: s.attempt, output: s.output })),
    ).toEqual(expected.map((e) => ({ ...e, status: 'completed', attempt: 1 })));
    for (const e of expected) expect(runsOf(workId, e.name)).toBe(1);
    expect(Number(done.checkpointSeq)).toBe(expected.length);
    return done;
  }

  /** Runs the completed work again from after its last step: every result comes from the record. */
  async function replay(workId: string, lastSeq: number) {
    const before = await h.ledger.work(workId);
    await h.worker.control.rerunFromStep(workId, lastSeq + 1, 'test');
    const again = await h.ledger.untilState(workId, 'COMPLETED', 30_000);
    expect(again.runSeq).toBeGreaterThan(before.runSeq);
    expect(again.output).toEqual(before.output);
  }

  it.each([2, 3, 8, 32])(
    'records each of %i steps run side by side, then more steps',
    async (n) => {
      const groups: Shape = [Array.from({ length: n }, (_, i) => (i * 7) % 13), [0, 0]];
      const { workId } = await h.worker.control.start('par.shaped', { groups }, { actor: 'test' });
      const done = await expectRecorded(workId!, groups);
      await replay(workId!, Number(done.checkpointSeq));
      for (const name of groups.flatMap((d, g) => d.map((_, i) => `g${g}s${i}`)))
        expect(runsOf(workId!, name)).toBe(1);
    },
  );

  it('records steps that finish in the same turn of the event loop', async () => {
    const groups: Shape = [
      [0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ];
    const { workId } = await h.worker.control.start('par.shaped', { groups }, { actor: 'test' });
    const done = await expectRecorded(workId!, groups);
    await replay(workId!, Number(done.checkpointSeq));
  });

  it('records steps side by side with a send, a sleep, a child and a wait', async () => {
    const key = `par-mixed-${Date.now()}`;
    const { workId } = await h.worker.control.start('par.mixed', { key }, { actor: 'test' });
    await h.ledger.untilState(workId!, 'WAITING', 15_000);
    const ingest = h.worker.app.get(IngestService, { strict: false });
    await ingest.ingest(correlatedEvent(key, { ok: true }));
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED'], 30_000);
    expect(done.error).toBeNull();
    expect(done.output).toEqual({
      all: ['a', 'sent', 'b', null, 'c', 18, 'd', { ok: true }, 'e'],
      tail: 'tail',
    });
    const steps = await h.ledger.steps(workId!);
    expect(steps.filter((s) => s.status !== 'completed')).toEqual([]);
    for (const name of ['a', 'b', 'c', 'd', 'e', 'tail']) expect(runsOf(workId!, name)).toBe(1);
    const [kid] = await h.db.query<{ id: string }>('SELECT id FROM "Work" WHERE "parentId" = $1', [
      workId,
    ]);
    const kidSteps = await h.ledger.steps(kid!.id);
    expect(kidSteps.map((s) => [s.name, s.status, s.output])).toEqual([
      ['c1', 'completed', { v: 3 }],
      ['c2', 'completed', { v: 6 }],
      ['c3', 'completed', { v: 9 }],
    ]);
    await replay(workId!, Number(done.checkpointSeq));
    for (const name of ['a', 'b', 'c', 'd', 'e', 'tail']) expect(runsOf(workId!, name)).toBe(1);
  });

  it('lands a pause requested while steps run side by side once, with every step that finished recorded', async () => {
    hold = gate();
    const { workId } = await h.worker.control.start('par.pausable', {}, { actor: 'test' });
    await until(
      async () =>
        (await h.ledger.steps(workId!)).find((s) => s.name === 'a')?.status === 'completed',
      'step a to be recorded while b and c hold',
    );
    await h.worker.control.pause(workId!, 'test');
    hold.open(); // b and c finish together, after the pause was requested
    const paused = await h.ledger.untilState(workId!, 'PAUSED');
    expect(paused.pauseRequested).toBe(false);
    expect(runsOf(workId!, 'after')).toBe(0); // stopped at the boundary
    expect((await h.ledger.steps(workId!)).map((s) => [s.name, s.status])).toEqual([
      ['a', 'completed'],
      ['b', 'completed'],
      ['c', 'completed'],
    ]);
    await h.worker.control.resume(workId!, 'test');
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toEqual({ all: ['a', 'b', 'c'], after: 'after' });
    for (const name of ['a', 'b', 'c', 'after']) expect(runsOf(workId!, name)).toBe(1);
    expect((await h.ledger.types(workId!)).filter((t) => t === 'paused')).toHaveLength(1);
  });

  /**
   * Issue 13 (simulation seed 5): a pause requested while every step of a Promise.all
   * runs, the steps then finishing one at a time. The first to finish must not land
   * the pause on its own: the others' side effects would be done but their checkpoints
   * refused, and they would run again after the resume.
   */
  it.each([3, 8])(
    'lands a pause requested while %i steps run side by side only once every one is checkpointed',
    async (width) => {
      holds = Array.from({ length: width }, () => gate());
      const { workId } = await h.worker.control.start('par.held', { width }, { actor: 'test' });
      await until(
        async () => (await h.ledger.steps(workId!)).length === width,
        'every step of the group to be running',
      );
      await h.worker.control.pause(workId!, 'test');
      for (const [i, hold] of holds.entries()) {
        hold.open();
        await until(() => runsOf(workId!, `h${i}`) === 1, `step h${i}'s side effect`);
        // Steps are still running: the pause waits for them.
        if (i < width - 1) expect((await h.ledger.work(workId!)).state).toBe('RUNNING');
      }
      const paused = await h.ledger.untilState(workId!, 'PAUSED');
      expect(paused.pauseRequested).toBe(false);
      const steps = await h.ledger.steps(workId!);
      expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual(
        holds.map((_, i) => [`h${i}`, 'completed', 1]),
      );
      expect(runsOf(workId!, 'after')).toBe(0);
      await h.worker.control.resume(workId!, 'test');
      const done = await h.ledger.untilState(workId!, 'COMPLETED');
      expect(done.output).toEqual({ all: holds.map((_, i) => i), after: width });
      for (const name of [...holds.map((_, i) => `h${i}`), 'after'])
        expect(runsOf(workId!, name)).toBe(1);
      const after = await h.ledger.steps(workId!);
      expect(after.map((s) => [s.name, s.status, s.attempt])).toEqual([
        ...holds.map((_, i) => [`h${i}`, 'completed', 1]),
        ['after', 'completed', 1],
      ]);
      expect((await h.ledger.types(workId!)).filter((t) => t === 'paused')).toHaveLength(1);
    },
  );

  it('lands a cancel requested while steps run side by side only once every one is checkpointed', async () => {
    const width = 4;
    holds = Array.from({ length: width }, () => gate());
    const { workId } = await h.worker.control.start('par.held', { width }, { actor: 'test' });
    await until(
      async () => (await h.ledger.steps(workId!)).length === width,
      'every step of the group to be running',
    );
    await h.worker.control.cancel(workId!, 'test');
    for (const [i, hold] of holds.entries()) {
      hold.open(); // the bodies ignore the run's abort signal: each finishes its side effect
      await until(() => runsOf(workId!, `h${i}`) === 1, `step h${i}'s side effect`);
      if (i < width - 1) expect((await h.ledger.work(workId!)).state).toBe('RUNNING');
    }
    await h.ledger.untilState(workId!, 'CANCELLED');
    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.name, s.status])).toEqual(
      holds.map((_, i) => [`h${i}`, 'completed']),
    );
    expect(runsOf(workId!, 'after')).toBe(0);
  });

  it('property: any shape of groups of parallel steps is recorded once and replays from the record', async () => {
    const shape = fc.array(
      fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 8 }),
      {
        minLength: 1,
        maxLength: 4,
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(shape, { minLength: 3, maxLength: 6 }), async (shapes) => {
        // Several works at once, so their statements share batches.
        const started = await Promise.all(
          shapes.map((groups) =>
            h.worker.control.start('par.shaped', { groups }, { actor: 'test' }),
          ),
        );
        const done = await Promise.all(
          started.map(({ workId }, n) => expectRecorded(workId!, shapes[n]!)),
        );
        await Promise.all(
          started.map(({ workId }, n) => replay(workId!, Number(done[n]!.checkpointSeq))),
        );
        for (const [n, { workId }] of started.entries())
          for (const name of shapes[n]!.flatMap((d, g) => [
            ...d.map((_, i) => `g${g}s${i}`),
            `g${g}after`,
          ]))
            expect(runsOf(workId!, name)).toBe(1);
      }),
      { numRuns: 8 },
    );
  });
});
