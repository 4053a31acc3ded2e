import { CronExpressionParser } from 'cron-parser';
import { type SlotSeries } from '@app/core';

/**
 * A cron expression's slots in a time zone, through cron-parser — the library (and the
 * exact version, pinned in package.json) BullMQ's job schedulers compute their `pattern`
 * iterations with, so the ledger's next slot and the scheduler's next job agree to the
 * millisecond. Five fields, or six with seconds first. Throws at once on a bad
 * expression or time zone; a well-formed expression that never matches (30 February)
 * simply has no slots.
 */
export function cronSlots(cron: string, timezone: string): SlotSeries {
  const parse = (currentDate: number) =>
    CronExpressionParser.parse(cron, { currentDate, tz: timezone });
  parse(0).next();
  const attempt = (fn: () => number): number | null => {
    try {
      return fn();
    } catch {
      return null;
    }
  };
  return {
    after: (ms) => attempt(() => parse(ms).next().getTime()),
    // prev() is strictly before its start: start one millisecond later to include `ms`.
    atOrBefore: (ms) =>
      attempt(() =>
        parse(ms + 1)
          .prev()
          .getTime(),
      ),
  };
}
