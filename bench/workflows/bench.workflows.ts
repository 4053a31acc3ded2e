import { Redis } from 'ioredis';
import { defineWorkflow, type WorkflowContext } from '@app/engine';

/** Workflows the benchmark runs in real worker processes (WORKGATE_WORKFLOWS). */

/** Three trivial steps: the engine's per-step cost with nothing else in the way. */
async function threeTrivialSteps(ctx: WorkflowContext): Promise<number> {
  const a = await ctx.step('one', async () => 1);
  const b = await ctx.step('two', async () => a + 1);
  return ctx.step('three', async () => b + 1);
}

export const threeSteps = defineWorkflow('bench.three-steps', threeTrivialSteps);

/** The same in `batched` durability: the three results committed with the completion. */
export const threeStepsBatched = defineWorkflow('bench.three-steps-batched', threeTrivialSteps, {
  durability: 'batched',
});

/** One trivial step: what a webhook opens in the ingest and first-step scenarios. */
export const oneStep = defineWorkflow('bench.one-step', async (ctx) =>
  ctx.step('one', async () => 1),
);

/** Waits for a reply on its own correlation key (for the many-waiting-works scenario). */
export const waiter = defineWorkflow('bench.waiter', async (ctx, input: { key: string }) => {
  const reply = await ctx.waitFor<unknown>({ match: input.key });
  return ctx.step('answered', async () => reply);
});

/**
 * Sleeps until an absolute instant, then one step: the timers scenario starts every
 * sleeper first and lets them fire later, so all N sleeps are pending at once however
 * long starting them took.
 */
export const sleepUntil = defineWorkflow(
  'bench.sleep-until',
  async (ctx, input: { at: number }) => {
    await ctx.sleep({ until: new Date(input.at) });
    return ctx.step('after', async () => true);
  },
);

/** Where the recovery scenario counts step executions (a Redis hash per run of the bench). */
let effects: Redis | undefined;
function countExecution(workId: string, seq: number): Promise<unknown> {
  // Bench-only side channel: the worker process inherits it from the bench (not app config).
  const key = process.env.BENCH_EFFECTS_KEY;
  if (!key) return Promise.resolve();
  effects ??= new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false });
  return effects.hincrby(key, `${workId}:${seq}`, 1);
}

/**
 * Several steps with short sleeps between them, each step recording that it ran (an
 * external side effect, counted in Redis), so the recovery scenario can check that a
 * kill -9 made no completed step run again.
 */
export const stepper = defineWorkflow(
  'bench.stepper',
  async (ctx, input: { steps: number; sleepMs: number; workMs: number }) => {
    let total = 0;
    for (let i = 1; i <= input.steps; i++) {
      total += await ctx.step(`step-${i}`, async () => {
        await countExecution(ctx.workId, i);
        // Busy-ish work so that some steps are in flight when the worker is killed.
        await new Promise((r) => setTimeout(r, input.workMs));
        return i;
      });
      if (i < input.steps) await ctx.sleep(input.sleepMs);
    }
    return total;
  },
  // A lost lease is retried by the work's policy: a short first backoff keeps the
  // recovery figure about the lease and the sweep, not the (configurable) backoff.
  { retry: { initialIntervalMs: 100, maxAttempts: 5 } },
);
