import { defineWorkflow } from '@app/engine';
import { type EngineHarness, startEngine } from '@test/engine-ledger';

/** How often each step's body ran, and what every run saw (module-level, across runs). */
const executions = { one: 0, two: 0, three: 0, four: 0 };
const stepThree: Array<{ attempt: number; idempotencyKey: string; workAttempt: number }> = [];
const seen: Array<{ now: string; random: number; uuid: string }> = [];

class FlakyError extends Error {
  readonly code = 'flaky';
}

const replayed = defineWorkflow(
  'replayed',
  async (ctx) => {
    const one = await ctx.step('one', () => {
      executions.one++;
      return 1;
    });
    const two = await ctx.step('two', () => {
      executions.two++;
      return one + 1;
    });
    const now = await ctx.now();
    const random = await ctx.random();
    const uuid = await ctx.uuid();
    seen.push({ now: now.toISOString(), random, uuid });
    const three = await ctx.step('three', ({ attempt, idempotencyKey }) => {
      executions.three++;
      stepThree.push({ attempt, idempotencyKey, workAttempt: ctx.attempt });
      // Retryable, and only on the first attempt: the work's policy retries it.
      if (attempt === 1) throw new FlakyError('step three failed on purpose');
      return two + 1;
    });
    const four = await ctx.step('four', () => {
      executions.four++;
      return three + 1;
    });
    return { four, now: now.toISOString(), random, uuid };
  },
  { retry: { maxAttempts: 3, initialIntervalMs: 300, jitter: 0 } },
);

/** Flipped by the test between runs: the step at position 2 changes its name. */
let newCode = false;
const drifting = defineWorkflow(
  'drifting',
  async (ctx) => {
    await ctx.step('first', () => 'a');
    await ctx.step(newCode ? 'charge-card' : 'reserve-stock', () => 'b');
    const ok = await ctx.ask<string>({ text: 'continue?', expects: { enum: ['yes', 'no'] } });
    return { ok };
  },
  { retry: { maxAttempts: 5, initialIntervalMs: 50 } },
);

describe('engine replay and determinism', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('eng_replay', [replayed, drifting]);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('retries a failed step with backoff without re-running the steps before it', async () => {
    const { workId } = await h.worker.control.start('replayed', {}, { actor: 'test' });
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED']);
    expect(done.state).toBe('COMPLETED');
    expect(done.attempt).toBe(2);

    // Steps 1–2 ran once; step 3 twice (attempt 1 failed), step 4 once.
    expect(executions).toEqual({ one: 1, two: 1, three: 2, four: 1 });
    expect(stepThree).toHaveLength(2);
    expect(stepThree.map((s) => [s.attempt, s.workAttempt])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(stepThree[1]!.idempotencyKey).toBe(stepThree[0]!.idempotencyKey);

    // The re-run saw the recorded now/random/uuid, not new ones.
    expect(seen).toHaveLength(2);
    expect(seen[1]).toEqual(seen[0]);
    expect(done.output).toEqual({ four: 4, ...seen[0] });

    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.seq, s.name, s.status, s.attempt])).toEqual([
      [1, 'one', 'completed', 1],
      [2, 'two', 'completed', 1],
      [3, '$now', 'completed', 1],
      [4, '$random', 'completed', 1],
      [5, '$uuid', 'completed', 1],
      [6, 'three', 'completed', 2],
      [7, 'four', 'completed', 1],
    ]);
    expect(steps[5]!.idempotencyKey).toBe(stepThree[0]!.idempotencyKey);
    expect(steps[2]!.output).toEqual({ v: seen[0]!.now });
    expect(steps[3]!.output).toEqual({ v: seen[0]!.random });
    expect(steps[4]!.output).toEqual({ v: seen[0]!.uuid });

    // The retry waited out its backoff (300 ms, no jitter) before the second claim.
    const timeline = await h.ledger.timeline(workId!);
    const retry = timeline.find((e) => e.type === 'retry_scheduled')!;
    expect(retry.data).toMatchObject({ error: { code: 'flaky' } });
    const claims = timeline.filter((e) => e.type === 'claimed');
    expect(claims).toHaveLength(2);
    expect(claims[1]!.at.getTime() - retry.at.getTime()).toBeGreaterThanOrEqual(300);
  });

  it('fails a work whose code asks for a different step than recorded, without retrying', async () => {
    newCode = false;
    const { workId } = await h.worker.control.start('drifting', {}, { actor: 'test' });
    await h.ledger.untilState(workId!, 'WAITING');
    // The code changes under the waiting work; the answer makes it run again.
    newCode = true;
    await h.worker.control.signal(workId!, 'yes', 'test');
    const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
    expect(failed.state).toBe('FAILED');
    expect(failed.attempt).toBe(1);
    expect(failed.error).toMatchObject({ name: 'DeterminismError', code: 'determinism_violation' });
    expect(failed.error.message).toContain('"reserve-stock"');
    expect(failed.error.message).toContain('"charge-card"');
    expect(failed.error.message).toContain('step 2');

    const types = await h.ledger.types(workId!);
    expect(types).not.toContain('retry_scheduled');
    expect(types.filter((t) => t === 'claimed')).toHaveLength(2);
    expect(types[types.length - 1]).toBe('failed');
    // The record is left as it was: the steps the old code ran, nothing from the new.
    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => s.name)).toEqual(['first', 'reserve-stock', 'ask']);
  });
});
