import { z } from 'zod';
import { parseDurationMs } from '@app/core';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The shortest dedupe window each channel accepts: how long its provider may redeliver
 * an update it thinks we missed. Telegram keeps an unconfirmed update for 24 hours;
 * Slack retries an event three times within minutes (1 hour is a safe margin). Other
 * channels (webhooks, the API, schedules) get 1 hour: a webhook sender's window is the
 * operator's to know (Stripe retries for 3 days, GitHub redelivers on request).
 */
export const DEDUPE_FLOORS_MS = { telegram: DAY, slack: HOUR, webhook: HOUR, other: HOUR } as const;

/** A duration no shorter than `floorMs`, with a message that says why. */
function windowAtLeast(floorMs: number, why: string, fallbackMs: number) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration: ${String(v)} (use e.g. 2h, 3d)` });
        return z.NEVER;
      }
      if (ms < floorMs) {
        ctx.addIssue({
          code: 'custom',
          message: `${String(v)} is shorter than ${floorMs / HOUR}h: ${why}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .default(fallbackMs);
}

const positiveDuration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `not a positive duration: ${String(v)} (e.g. 30d)` });
    return z.NEVER;
  }
  return ms;
});

/** `retention:` (docs/retention.md): deleting old finished works and old inbound events. */
export const retentionConfigSchema = z
  .strictObject({
    after: positiveDuration
      .optional()
      .describe(
        'Age (since a work finished) after which a completed, failed or cancelled work is deleted with its steps, waits, timeline, outbox rows and model calls. Absent: retention is off and nothing is ever deleted.',
      ),
    every: positiveDuration
      .default(HOUR)
      .describe(
        'How often the reconciler starts a retention run; a run that leaves a backlog carries on at the next reconcile pass.',
      ),
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(5_000)
      .default(200)
      .describe('Rows deleted per transaction: each batch is its own short transaction.'),
    batchesPerPass: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(10)
      .describe(
        'Batches per reconcile pass, so a large backlog never holds up lease recovery and timers for long.',
      ),
    dedupe: z
      .strictObject({
        telegram: windowAtLeast(
          DEDUPE_FLOORS_MS.telegram,
          'Telegram redelivers an unconfirmed update for up to 24h',
          2 * DAY,
        ).describe('How long a Telegram update id is remembered (at least 24h).'),
        slack: windowAtLeast(
          DEDUPE_FLOORS_MS.slack,
          'Slack retries an event for about an hour',
          DAY,
        ).describe('How long a Slack event id is remembered (at least 1h).'),
        webhook: windowAtLeast(
          DEDUPE_FLOORS_MS.webhook,
          'a webhook sender retries for at least that long',
          7 * DAY,
        ).describe(
          "How long a webhook delivery id is remembered (at least 1h; set it to your senders' retry window, e.g. Stripe 3d).",
        ),
        other: windowAtLeast(
          DEDUPE_FLOORS_MS.other,
          'an idempotency key must outlive client retries',
          7 * DAY,
        ).describe('Every other channel (API, schedules): how long an event id is remembered.'),
      })
      .prefault({})
      .describe(
        'Inbound events (the dedupe record of every delivery) are deleted after their channel window once no work holds them; with retention off they are kept.',
      ),
  })
  .prefault({})
  .describe('Deleting old finished works and old inbound events (docs/retention.md).');
export type RetentionConfig = z.infer<typeof retentionConfigSchema>;
