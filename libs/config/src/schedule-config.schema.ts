import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { MISSED_FIRE_POLICIES } from '@app/core';
import { durationMs } from './config-primitives';

export const timeZone = z
  .string()
  .min(1)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not an IANA time zone (e.g. Europe/Berlin, UTC)' },
  );

/** Schedule.intervalMs is a 32-bit column; below 100 ms a schedule would only load Redis. */
const MAX_INTERVAL_MS = 2_147_483_647;
const MIN_INTERVAL_MS = 100;

/**
 * One schedule (`schedules:` in the file, or ScheduleService.define in code): which
 * workflow to start, and exactly one of `cron` (+ `timezone`), `every` or `at`.
 */
export const scheduleSpecSchema = z
  .strictObject({
    name: z
      .string()
      .max(200)
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'schedule names: lowercase letters, digits, ., - and _')
      .describe('Unique; lowercase letters, digits, ., - and _.'),
    workflow: z
      .string()
      .min(1)
      .describe(
        'The workflow kind each fire starts; must be registered, or the worker refuses to start.',
      ),
    // cron-parser reads it, as BullMQ does.
    cron: z
      .string()
      .min(1)
      .optional()
      .describe('A cron expression: five fields, or six with seconds first.'),
    timezone: timeZone
      .optional()
      .describe("The cron's IANA time zone (e.g. Europe/Berlin); default UTC, DST handled."),
    every: durationMs
      .optional()
      .describe(
        'A fixed interval, 100ms…24d, aligned to the Unix epoch (15m fires at :00, :15, :30, :45 UTC).',
      ),
    at: z
      .union([z.iso.datetime({ offset: true }), z.date()])
      .transform((v) => new Date(v))
      .optional()
      .describe('A one-shot: an ISO 8601 time with Z or an offset; fires once.'),
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Merged into each fire's work input, with `schedule` (the name) and `fireAt` (the slot, ISO 8601).",
      ),
    missed: z
      .enum(MISSED_FIRE_POLICIES)
      .default('fire_once')
      .describe(
        'Slots more than 60 s late (the workers were down) collapse into the latest: `fire_once` fires it once, `skip` waits for the next slot.',
      ),
    enabled: z
      .boolean()
      .optional()
      .describe('Absent: a new schedule is enabled, an existing one keeps its state.'),
  })
  .superRefine((s, ctx) => {
    const timings = (['cron', 'every', 'at'] as const).filter((k) => s[k] !== undefined);
    if (timings.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `a schedule needs exactly one of cron, every or at${timings.length ? ` (got ${timings.join(', ')})` : ''}`,
      });
    if (s.timezone !== undefined && s.cron === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: 'timezone applies to cron only',
      });
    if (s.cron !== undefined) {
      try {
        CronExpressionParser.parse(s.cron, { tz: s.timezone ?? 'UTC' }).next();
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['cron'],
          message: `not a cron expression: ${(err as Error).message}`,
        });
      }
    }
    if (s.every !== undefined && (s.every < MIN_INTERVAL_MS || s.every > MAX_INTERVAL_MS))
      ctx.addIssue({
        code: 'custom',
        path: ['every'],
        message: `every must be between ${MIN_INTERVAL_MS}ms and 24d`,
      });
  });
export type ScheduleSpec = z.input<typeof scheduleSpecSchema>;
export type ScheduleConfig = z.output<typeof scheduleSpecSchema>;

/** Price per 1M tokens, USD (ModelCall.costUsd). `cached` defaults to `input`. */
