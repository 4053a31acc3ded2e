import { z } from 'zod';
import { defineWorkflow } from '@app/engine';

/**
 * The chat walk-through (docs/conversations.md, "Walk-through"): a message to the bot
 * opens a work that acknowledges it, asks for an approval with buttons (only the
 * configured approvers may press them), reminds after a while if nobody answers,
 * sleeps a moment once answered, and reports back in the same chat or thread.
 *
 * No model involved: every step is plain code, so it runs anywhere.
 */
export const chatApprovalWorkflow = defineWorkflow(
  'chat-approval',
  async (ctx, input) => {
    const request = await ctx.step('understand', () => ({
      summary: input.text.trim().slice(0, 200) || '(empty message)',
    }));
    const here = ctx.origin.address;
    if (here) await ctx.send(here, { text: `Got it: “${request.summary}”. Asking for approval…` });
    const approved = await ctx.ask<boolean>({
      text: `Approve “${request.summary}”?`,
      expects: { type: 'boolean' },
      ...(input.approvers?.length ? { responders: input.approvers } : {}),
      escalation: [
        {
          after: input.remindAfter ?? '2m',
          action: 'remind',
          text: `Still waiting: approve “${request.summary}”?`,
        },
        { after: input.giveUpAfter ?? '30m', action: 'default', value: false },
      ],
    });
    await ctx.sleep(input.settle ?? '2s');
    if (here)
      await ctx.send(here, {
        text: approved ? `Approved — “${request.summary}” is done.` : 'Not approved; dropped.',
      });
    return { summary: request.summary, approved };
  },
  {
    // A chat message's normalized body: the text, plus optional knobs for tests and demos.
    input: z
      .object({
        text: z.string().default(''),
        approvers: z.array(z.string()).optional(),
        remindAfter: z.string().optional(),
        giveUpAfter: z.string().optional(),
        settle: z.string().optional(),
      })
      .passthrough(),
  },
);
