import { defineWorkflow, NonRetryableError } from '@app/engine';
import { type EngineHarness, eventsOfType, startEngine } from '@test/engine-ledger';
import { until } from '@test/until';

/** How often each step body ran, and what every run saw (module-level: survives runs). */
const executions = { before: 0, between: 0, after: 0 };
const seen: Array<{ now: string; random: number; uuid: string }> = [];

/** Values and steps around two waits (an answer, then a sleep): three runs in all. */
const resumable = defineWorkflow('det.resumable', async (ctx) => {
  const before = await ctx.step('before', () => ++executions.before);
  const now = await ctx.now();
  const random = await ctx.random();
  const uuid = await ctx.uuid();
  seen.push({ now: now.toISOString(), random, uuid });
  const answer = await ctx.ask<string>({ text: 'go?' });
  const between = await ctx.step('between', () => ++executions.between);
  await ctx.sleep(150);
  const after = await ctx.step('after', () => ++executions.after);
  return { before, between, after, answer, now: now.toISOString(), random, uuid };
});

/**
 * Flags the test flips while a work waits, standing for a deploy that changed the code
 * under it. A generous retry policy: a determinism error must not use it.
 */
const code = { reordered: false, swallowing: false, shortened: false };
const RETRY = { retry: { maxAttempts: 5, initialIntervalMs: 50 } };

/** v1: step "load", then ask. v2 asks first. */
const reordered = defineWorkflow(
  'det.reordered',
  async (ctx) => {
    if (code.reordered) {
      const ok = await ctx.ask<string>({ text: 'continue?' });
      await ctx.step('load', () => 'loaded');
      return { ok };
    }
    await ctx.step('load', () => 'loaded');
    const ok = await ctx.ask<string>({ text: 'continue?' });
    return { ok };
  },
  RETRY,
);

/** v2 renames a step and catches whatever it throws: the violation must still fail the work. */
const swallowing = defineWorkflow(
  'det.swallowing',
  async (ctx) => {
    await ctx.step('first', () => 1);
    if (!code.swallowing) {
      await ctx.step('notify', () => 'sent');
      const ok = await ctx.ask<string>({ text: 'continue?' });
      return { ok };
    }
    try {
      await ctx.step('notify-v2', () => 'sent');
    } catch {
      // "best effort": exactly the code that would hide drift
    }
    try {
      await ctx.step('cleanup', () => 'clean');
    } catch {
      // the same
    }
    return { swallowed: true };
  },
  RETRY,
);

/** v1 asks twice; v2 returns after the first answer, leaving a recorded step unvisited. */
const shortened = defineWorkflow(
  'det.shortened',
  async (ctx) => {
    const first = await ctx.ask<string>({ text: 'first?' });
    if (code.shortened) return { first };
    await ctx.step('log', () => first);
    const second = await ctx.ask<string>({ text: 'second?' });
    return { first, second };
  },
  RETRY,
);

/** Fails for good at once although its policy would retry anything else. */
const refusing = defineWorkflow(
  'det.refusing',
  async (ctx) => {
    await ctx.step('validate', () => {
      throw new NonRetryableError('the order is malformed', 'malformed_order');
    });
  },
  RETRY,
);

const byPolicy = defineWorkflow(
  'det.by-policy',
  async (ctx) => {
    await ctx.step('charge', () => {
      throw Object.assign(new Error('card declined'), { code: 'card_declined' });
    });
  },
  { retry: { maxAttempts: 5, initialIntervalMs: 50, nonRetryableErrors: ['card_declined'] } },
);

/** A step with its own inline policy: retried inside the run, with a delay, attempt + 1. */
const inlineAttempts: Array<{ attempt: number; at: number; key: string }> = [];
const inline = defineWorkflow('det.inline', async (ctx) => {
  return ctx.step(
    'call',
    ({ attempt, idempotencyKey }) => {
      inlineAttempts.push({ attempt, at: Date.now(), key: idempotencyKey });
      if (attempt < 3) throw Object.assign(new Error('busy'), { code: 'busy' });
      return attempt;
    },
    { retry: { maxAttempts: 3, initialIntervalMs: 100, backoffCoefficient: 2, jitter: 0 } },
  );
});

describe('engine replay, determinism and failure policy', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('eng_determinism', [
      resumable,
      reordered,
      swallowing,
      shortened,
      refusing,
      byPolicy,
      inline,
    ]);
  });

  afterAll(async () => {
    await h?.close();
  });

  const start = async (kind: string) =>
    (await h.worker.control.start(kind, {}, { actor: 'test' })).workId!;

  /** Starts v1, waits for it to ask, switches to v2, answers; returns the finished work. */
  async function deployUnder(kind: string, flag: keyof typeof code) {
    code[flag] = false;
    const workId = await start(kind);
    await h.ledger.untilState(workId, 'WAITING');
    code[flag] = true;
    await h.worker.control.signal(workId, 'yes', 'operator:test');
    const done = await h.ledger.untilState(workId, ['FAILED', 'COMPLETED']);
    return { workId, done };
  }

  /** The work failed once, for good, with a determinism error naming both steps. */
  async function expectDeterminismFailure(
    workId: string,
    done: { state: string; attempt: number; error: any },
    recorded: string,
    requested: string,
  ) {
    expect(done.state).toBe('FAILED');
    expect(done.attempt).toBe(1);
    expect(done.error).toMatchObject({ name: 'DeterminismError', code: 'determinism_violation' });
    expect(done.error.message).toContain(recorded);
    expect(done.error.message).toContain(requested);
    const timeline = await h.ledger.timeline(workId);
    const failed = eventsOfType(timeline, 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.data.error).toMatchObject({ code: 'determinism_violation' });
    expect(failed[0]!.data.error.message).toContain(recorded);
    expect(failed[0]!.data.error.message).toContain(requested);
    expect(timeline.at(-1)!.type).toBe('failed');
    expect(eventsOfType(timeline, 'retry_scheduled')).toHaveLength(0);
  }

  it('does not re-execute completed steps after a wait resumes; now/random/uuid replay', async () => {
    const workId = await start('det.resumable');
    await h.ledger.untilState(workId, 'WAITING');
    await h.worker.control.signal(workId, 'yes', 'operator:test');
    const done = await h.ledger.untilState(workId, ['COMPLETED', 'FAILED']);
    expect(done.state).toBe('COMPLETED');

    // Three runs (start, after the answer, after the sleep); each step body ran once.
    expect(eventsOfType(await h.ledger.timeline(workId), 'claimed')).toHaveLength(3);
    expect(executions).toEqual({ before: 1, between: 1, after: 1 });
    expect(seen).toHaveLength(3);
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[2]).toEqual(seen[0]);
    expect(done.output).toEqual({ before: 1, between: 1, after: 1, answer: 'yes', ...seen[0] });
    const steps = await h.ledger.steps(workId);
    expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['before', 'completed', 1],
      ['$now', 'completed', 1],
      ['$random', 'completed', 1],
      ['$uuid', 'completed', 1],
      ['ask', 'completed', 1],
      ['between', 'completed', 1],
      ['sleep', 'completed', 1],
      ['after', 'completed', 1],
    ]);
  });

  it('fails a work whose steps come in a different order on replay, naming both', async () => {
    const { workId, done } = await deployUnder('det.reordered', 'reordered');
    await expectDeterminismFailure(workId, done, 'task "load"', 'wait "ask"');
    expect(done.error.message).toContain('step 1');
    // Nothing of the new code's was recorded.
    expect((await h.ledger.steps(workId)).map((s) => [s.name, s.status])).toEqual([
      ['load', 'completed'],
      ['ask', 'completed'],
    ]);
  });

  it('a determinism error caught by workflow code still fails the work', async () => {
    const { workId, done } = await deployUnder('det.swallowing', 'swallowing');
    await expectDeterminismFailure(workId, done, 'task "notify"', 'task "notify-v2"');
    expect(done.output).toBeNull();
    // The steps after the swallowed violation were not run or recorded either.
    expect((await h.ledger.steps(workId)).map((s) => s.name)).toEqual(['first', 'notify', 'ask']);
  });

  it('a replay that finishes before reaching a recorded step is a determinism error', async () => {
    code.shortened = false;
    const workId = await start('det.shortened');
    await h.ledger.untilState(workId, 'WAITING');
    await h.worker.control.signal(workId, 'one', 'operator:test');
    await h.ledger.untilState(workId, 'WAITING');
    await until(async () => (await h.ledger.waits(workId)).length === 2, 'the second question');
    code.shortened = true;
    await h.worker.control.signal(workId, 'two', 'operator:test');
    const done = await h.ledger.untilState(workId, ['FAILED', 'COMPLETED']);
    await expectDeterminismFailure(workId, done, 'task "log"', 'returned');
    expect(done.error.message).toContain('step 2');
  });

  it('NonRetryableError fails the work at once, whatever the retry policy', async () => {
    const workId = await start('det.refusing');
    const done = await h.ledger.untilState(workId, ['FAILED', 'COMPLETED']);
    expect(done).toMatchObject({
      state: 'FAILED',
      attempt: 1,
      error: { name: 'NonRetryableError', code: 'malformed_order' },
    });
    const types = await h.ledger.types(workId);
    expect(types.filter((t) => t === 'claimed')).toHaveLength(1);
    expect(types).not.toContain('retry_scheduled');
  });

  it("an error code listed in the policy's nonRetryableErrors fails at once", async () => {
    const workId = await start('det.by-policy');
    const done = await h.ledger.untilState(workId, ['FAILED', 'COMPLETED']);
    expect(done).toMatchObject({ state: 'FAILED', attempt: 1, error: { code: 'card_declined' } });
    expect(await h.ledger.types(workId)).not.toContain('retry_scheduled');
  });

  it("a step's own retry policy retries it inside the run after its delay, attempt + 1", async () => {
    const workId = await start('det.inline');
    const done = await h.ledger.untilState(workId, ['COMPLETED', 'FAILED']);
    expect(done).toMatchObject({ state: 'COMPLETED', output: 3, attempt: 1 });
    expect(inlineAttempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(new Set(inlineAttempts.map((a) => a.key)).size).toBe(1);
    // Backoff before attempt n+1: 100 ms × 2^(n−1), no jitter.
    expect(inlineAttempts[1]!.at - inlineAttempts[0]!.at).toBeGreaterThanOrEqual(100);
    expect(inlineAttempts[2]!.at - inlineAttempts[1]!.at).toBeGreaterThanOrEqual(200);
    const [step] = await h.ledger.steps(workId);
    expect(step).toMatchObject({ name: 'call', status: 'completed', attempt: 3 });
    expect(eventsOfType(await h.ledger.timeline(workId), 'claimed')).toHaveLength(1);
  });
});
