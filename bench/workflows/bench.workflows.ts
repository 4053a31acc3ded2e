import { defineWorkflow } from '@app/engine';

/** Workflows the benchmark runs in real worker processes (WORKGATE_WORKFLOWS). */

/** Three trivial steps: the engine's per-step cost with nothing else in the way. */
export const threeSteps = defineWorkflow('bench.three-steps', async (ctx) => {
  const a = await ctx.step('one', async () => 1);
  const b = await ctx.step('two', async () => a + 1);
  return ctx.step('three', async () => b + 1);
});

/** One sleep, then one step (timer lateness is read from the ledger). */
export const sleeper = defineWorkflow('bench.sleeper', async (ctx, input: { ms: number }) => {
  await ctx.sleep(input.ms);
  return ctx.step('after', async () => true);
});

/** Waits for a reply on its own correlation key (for the many-waiting-works scenario). */
export const waiter = defineWorkflow('bench.waiter', async (ctx, input: { key: string }) => {
  const reply = await ctx.waitFor<unknown>({ match: input.key });
  return ctx.step('answered', async () => reply);
});
