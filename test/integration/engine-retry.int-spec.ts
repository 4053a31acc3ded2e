import { DEFAULT_RETRY_POLICY } from '@app/core';
import { defineWorkflow } from '@app/engine';
import { type EngineHarness, startEngine } from '@test/engine-ledger';

const attempts: Array<{ workAttempt: number; stepAttempt: number; idempotencyKey: string }> = [];

const POLICY = { maxAttempts: 3, initialIntervalMs: 100 };

const hopeless = defineWorkflow(
  'hopeless',
  async (ctx) => {
    await ctx.step('prepare', () => 'ready');
    await ctx.step('call-flaky-service', ({ attempt, idempotencyKey }) => {
      attempts.push({ workAttempt: ctx.attempt, stepAttempt: attempt, idempotencyKey });
      throw Object.assign(new Error('service unavailable'), { code: 'unavailable' });
    });
  },
  { retry: POLICY },
);

describe('engine retry policy', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('eng_retry', [hopeless]);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('retries by the policy with backoff, then fails for good after maxAttempts', async () => {
    const { workId } = await h.worker.control.start('hopeless', {}, { actor: 'test' });
    const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
    expect(failed.state).toBe('FAILED');
    expect(failed.attempt).toBe(3);
    expect(failed.error).toMatchObject({ code: 'unavailable', message: 'service unavailable' });
    expect(failed.retryPolicy).toMatchObject(POLICY);

    expect(attempts.map((a) => [a.workAttempt, a.stepAttempt])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(new Set(attempts.map((a) => a.idempotencyKey)).size).toBe(1);

    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['prepare', 'completed', 1],
      ['call-flaky-service', 'failed', 3],
    ]);
    expect(steps[1]!.error).toMatchObject({ code: 'unavailable' });

    const timeline = await h.ledger.timeline(workId!);
    const relevant = timeline.filter((e) =>
      ['claimed', 'retry_scheduled', 'failed'].includes(e.type),
    );
    expect(relevant.map((e) => e.type)).toEqual([
      'claimed',
      'retry_scheduled',
      'claimed',
      'retry_scheduled',
      'claimed',
      'failed',
    ]);
    // Backoff before attempt n+1: initial × 2^(n−1), drawn from [d·(1−jitter), d].
    const jitter = DEFAULT_RETRY_POLICY.jitter;
    for (const n of [1, 2]) {
      const scheduled = relevant[2 * n - 1]!;
      const claimed = relevant[2 * n]!;
      const floor = POLICY.initialIntervalMs * 2 ** (n - 1) * (1 - jitter);
      expect(claimed.at.getTime() - scheduled.at.getTime()).toBeGreaterThanOrEqual(floor);
    }
    expect(relevant[5]!.data).toMatchObject({ error: { code: 'unavailable' } });
  });
});
