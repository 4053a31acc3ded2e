import { z } from 'zod';
import { defineWorkflow, NonRetryableError } from '@workgate/sdk';

/** Greets someone, after a pause (a durable timer: a worker restart does not reset it). */
export const greet = defineWorkflow(
  'hello-greet',
  async (ctx, input) => {
    const line = await ctx.step('compose', () => `hello ${input.name}`);
    await ctx.sleep(input.pause ?? '1s');
    if (input.name === 'nobody') throw new NonRetryableError('no one to greet', 'nobody');
    return { line };
  },
  {
    input: z.object({ name: z.string().min(1), pause: z.string().optional() }),
    description: 'greets someone after a pause',
  },
);

/** Asks for an approval; without an answer in a day, it is refused. */
export const approval = defineWorkflow(
  'hello-approval',
  async (ctx, input) => {
    const decision = await ctx.ask<'approve' | 'refuse'>({
      text: `Approve a refund of ${input.amount} for order ${input.orderId}?`,
      expects: { type: 'string', enum: ['approve', 'refuse'] },
      timeout: '1d',
      onTimeout: 'default',
      default: 'refuse',
    });
    const refunded = await ctx.step('refund', () => decision === 'approve');
    return { orderId: input.orderId, decision, refunded };
  },
  {
    input: z.object({ orderId: z.string(), amount: z.number().positive() }),
    description: 'a refund that waits for an approval',
  },
);

export const workflows = [greet, approval];
