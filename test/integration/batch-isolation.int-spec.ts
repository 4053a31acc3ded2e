import { ErrorCode } from '@app/core';
import { defineWorkflow } from '@app/engine';
import { type EngineHarness, gate, startEngine } from '@test/engine-ledger';
import { until } from '@test/until';

/**
 * Concurrent runs share their step statements (StatementBatcher). A value PostgreSQL
 * refuses in one run's step must fail that run's step with a clear error, and the runs
 * sharing the statement must not notice (docs/decisions.md, "A value jsonb refuses
 * fails its own step").
 */
const poisons: Record<string, () => unknown> = {
  nul: () => ({ text: 'a\u0000b' }),
  'nul-key': () => ({ 'k\u0000': 1 }),
  surrogate: () => ['fine', '\ud800'],
  deep: () => JSON.parse('['.repeat(200) + ']'.repeat(200)) as unknown,
  bigint: () => ({ n: 10n }),
  circular: () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  },
};

let release = gate();
const ran = new Map<string, number>();

const stepper = defineWorkflow(
  'iso.stepper',
  async (ctx, input: { poison: string | null; n: number }) => {
    await ctx.step('hold', () => release.promise);
    const value = await ctx.step('value', async () => {
      ran.set(ctx.workId, (ran.get(ctx.workId) ?? 0) + 1);
      // The poisoned run finishes last, so its checkpoint joins a batch the others started.
      if (input.poison) for (let i = 0; i < 20; i++) await Promise.resolve();
      return input.poison ? poisons[input.poison]!() : { n: input.n };
    });
    const after = await ctx.step('after', () => 'after');
    return { value, after };
  },
  { retry: { maxAttempts: 3, initialIntervalMs: 50 } },
);

const named = defineWorkflow('iso.named', async (ctx, input: { n: number; bad?: boolean }) => {
  await ctx.step('hold', () => release.promise);
  // Made here: an input holding it would be refused at ingest.
  const name = input.bad ? `bad${String.fromCharCode(0)}name` : `fine-${input.n}`;
  return ctx.step(name, () => 'ok');
});

const resulting = defineWorkflow('iso.result', async (ctx, input: { bad: boolean }) => {
  await ctx.step('hold', () => release.promise);
  return input.bad ? { text: 'x\u0000' } : { text: 'x' };
});

const throwing = defineWorkflow(
  'iso.throwing',
  async (ctx, input: { what: 'nul' | 'surrogate' | 'bigint' }) =>
    ctx.step('throws', () => {
      if (input.what === 'bigint') throw 10n as unknown as Error;
      throw new Error(input.what === 'nul' ? 'bad \u0000 data' : 'bad \ud800 data');
    }),
  { retry: { maxAttempts: 1 } },
);

const nul = String.fromCharCode(0);
const recording = defineWorkflow(
  'iso.recording',
  async (ctx, input: { what: 'send' | 'child' | 'wait' }) => {
    await ctx.step('first', () => 'ok');
    if (input.what === 'send') await ctx.send({ channel: 'nowhere', target: 't' }, { text: nul });
    if (input.what === 'child') await ctx.child('iso.result', { text: nul });
    if (input.what === 'wait') await ctx.waitFor({ match: 'k', timeout: '1h', default: nul });
    return 'unreachable';
  },
);

describe('one bad value in a shared statement', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('iso', [stepper, named, resulting, throwing, recording], {
      concurrency: 32,
    });
  });
  afterAll(async () => {
    release.open(); // a failed test must not leave runs holding in their first step
    await h?.close();
  });

  async function startAll(kind: string, inputs: unknown[]) {
    release = gate();
    const ids = await Promise.all(
      inputs.map(
        async (input) => (await h.worker.control.start(kind, input, { actor: 't' })).workId!,
      ),
    );
    // Every run holds in its first step, then all go on at once.
    for (const id of ids)
      await until(
        async () => (await h.ledger.steps(id)).length === 1,
        `work ${id} to hold in its first step`,
        15_000,
      );
    release.open();
    return ids;
  }

  it.each(Object.keys(poisons))(
    'a step returning a value jsonb refuses (%s) fails its own step; the runs beside it complete',
    async (poison) => {
      const inputs = [
        ...Array.from({ length: 12 }, (_, n) => ({ poison: null, n })),
        { poison, n: -1 },
      ];
      const ids = await startAll('iso.stepper', inputs);
      const bad = ids.at(-1)!;
      for (const [i, id] of ids.slice(0, -1).entries()) {
        const done = await h.ledger.untilState(id, ['COMPLETED', 'FAILED'], 20_000);
        expect({ state: done.state, attempt: done.attempt, error: done.error }).toEqual({
          state: 'COMPLETED',
          attempt: 1,
          error: null,
        });
        expect(done.output).toEqual({ value: { n: i }, after: 'after' });
        expect(ran.get(id)).toBe(1);
      }
      const failed = await h.ledger.untilState(bad, ['FAILED', 'COMPLETED'], 20_000);
      expect(failed.state).toBe('FAILED');
      expect(failed.error).toMatchObject({
        code: 'unstorable_output',
        message: expect.stringMatching(/^step "value" returned a value that cannot be recorded/),
      });
      const steps = await h.ledger.steps(bad);
      expect(steps.map((s) => [s.name, s.status])).toEqual([
        ['hold', 'completed'],
        ['value', 'failed'],
      ]);
      expect(steps[1]!.error).toMatchObject({ code: 'unstorable_output' });
      // Not retried: the same code would return the same value.
      expect(ran.get(bad)).toBe(1);
    },
  );

  it('a step name a text column refuses fails its own run; the runs beside it complete', async () => {
    const ids = await startAll('iso.named', [
      ...Array.from({ length: 8 }, (_, n) => ({ n })),
      { n: 8, bad: true },
    ]);
    for (const id of ids.slice(0, -1))
      expect((await h.ledger.untilState(id, ['COMPLETED', 'FAILED'], 20_000)).state).toBe(
        'COMPLETED',
      );
    const failed = await h.ledger.untilState(ids.at(-1)!, ['FAILED', 'COMPLETED'], 20_000);
    expect(failed.state).toBe('FAILED');
    expect(failed.error).toMatchObject({ code: 'invalid_step_name' });
  });

  it('a workflow result jsonb refuses fails the work at once, with a clear error', async () => {
    const ids = await startAll('iso.result', [{ bad: false }, { bad: true }, { bad: false }]);
    expect((await h.ledger.untilState(ids[0]!, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    expect((await h.ledger.untilState(ids[2]!, ['COMPLETED', 'FAILED'])).state).toBe('COMPLETED');
    const failed = await h.ledger.untilState(ids[1]!, ['FAILED', 'COMPLETED']);
    expect(failed.state).toBe('FAILED');
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatchObject({
      code: 'invalid_output',
      message: expect.stringContaining('NUL character'),
    });
  });

  it.each(['nul', 'surrogate', 'bigint'])(
    'a step that throws an error holding %s is recorded as failed, the character replaced',
    async (what) => {
      const { workId } = await h.worker.control.start('iso.throwing', { what }, { actor: 't' });
      const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
      expect(failed.state).toBe('FAILED');
      const [step] = await h.ledger.steps(workId!);
      expect(step).toMatchObject({ name: 'throws', status: 'failed' });
      expect(step!.error.message).toBe(what === 'bigint' ? '10' : 'bad \ufffd data');
      expect(failed.error.message).toBe(step!.error.message);
    },
  );

  it.each(['send', 'child', 'wait'])(
    'a %s holding a NUL fails the work at once with a clear error',
    async (what) => {
      const { workId } = await h.worker.control.start('iso.recording', { what }, { actor: 't' });
      const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
      expect(failed.state).toBe('FAILED');
      expect(failed.attempt).toBe(1);
      expect(failed.error).toMatchObject({
        code: 'unstorable_value',
        message: expect.stringContaining('cannot be recorded: it holds a NUL character'),
      });
    },
  );

  it('an event whose input jsonb refuses is refused alone (400); the events beside it are ingested', async () => {
    release.open(); // the works these events open go straight through
    const inputs = [
      ...Array.from({ length: 10 }, (_, n) => ({ n })),
      { text: 'nul \u0000 here' },
      { text: 'lone \udc00' },
    ];
    const results = await Promise.allSettled(
      inputs.map((input) => h.worker.control.start('iso.result', input, { actor: 't' })),
    );
    expect(results.slice(0, 10).map((r) => r.status)).toEqual(Array(10).fill('fulfilled'));
    for (const r of results.slice(10)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({
        code: ErrorCode.MalformedBody,
        message: expect.stringMatching(/cannot be stored|unpaired UTF-16 surrogate/),
      });
    }
  });
});
