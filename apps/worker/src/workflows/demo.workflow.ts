import { z } from 'zod';
import { defineWorkflow } from '@app/engine';

/**
 * The Quick start's workflow: opened by a `demo` webhook, it plans, sleeps, waits for
 * the CI result of the same ref (a `ci` webhook), asks a person whether to ship, and
 * finishes. Kill the worker anywhere in between: the next run picks up at the step
 * where this one stopped.
 */
export const demoWorkflow = defineWorkflow(
  'demo',
  async (ctx, input) => {
    const ref = input.payload.ref ?? 'demo';
    const plan = await ctx.step('plan', async () => ({
      ref,
      env: input.payload.env ?? 'staging',
      plannedAt: new Date().toISOString(),
    }));
    await ctx.sleep('2s');
    const ci = await ctx.waitFor<{ status?: string }>({
      match: `ci:${ref}`,
      timeout: '1h',
      onTimeout: 'default',
      default: { status: 'unknown' },
    });
    const answer = await ctx.ask<string>({
      text: `CI says ${ci.status ?? 'nothing'} for ${ref}. Ship it to ${plan.env}?`,
      expects: { type: 'string', enum: ['yes', 'no'] },
      timeout: '1h',
      onTimeout: 'default',
      default: 'no',
    });
    const shipped =
      answer === 'yes'
        ? await ctx.step('ship', async ({ idempotencyKey }) => ({
            deployment: `dep-${idempotencyKey}`,
          }))
        : null;
    return { ref, ci: ci.status ?? null, answer, shipped };
  },
  {
    input: z
      .object({
        payload: z.object({ ref: z.string().optional(), env: z.string().optional() }).passthrough(),
      })
      .passthrough(),
    retry: { maxAttempts: 5, initialIntervalMs: 1_000 },
    description: 'plan → sleep → wait for CI → ask → ship',
  },
);
