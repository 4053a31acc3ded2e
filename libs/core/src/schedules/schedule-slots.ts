export const SCHEDULE_KINDS = ['cron', 'interval', 'once'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/** What happens to fires that fell due while no worker was running. */
export const MISSED_FIRE_POLICIES = ['fire_once', 'skip'] as const;
export type MissedFirePolicy = (typeof MISSED_FIRE_POLICIES)[number];

/**
 * A schedule's fire times ("slots"), as epoch milliseconds. Cron series come from a
 * cron library (libs/engine); intervals and one-shots are plain arithmetic here.
 */
export interface SlotSeries {
  /** The first slot strictly after `ms`; null when there is none (a one-shot that has passed). */
  after(ms: number): number | null;
  /** The last slot at or before `ms`; null when there is none. */
  atOrBefore(ms: number): number | null;
}

/**
 * Interval slots are multiples of the interval since the Unix epoch (every 1h fires on
 * the hour UTC). That grid depends on nothing but the interval, so every replica, a
 * restart and BullMQ's job scheduler (which aligns its catch-up to the same grid) all
 * agree on which slot is which, and a slot's time is a stable dedupe key.
 */
export function intervalSlots(intervalMs: number): SlotSeries {
  if (!Number.isInteger(intervalMs) || intervalMs <= 0)
    throw new RangeError(`an interval must be a positive whole number of ms, got ${intervalMs}`);
  return {
    after: (ms) => (Math.floor(ms / intervalMs) + 1) * intervalMs,
    atOrBefore: (ms) => Math.floor(ms / intervalMs) * intervalMs,
  };
}

/** A one-shot has a single slot. */
export function onceSlot(runAtMs: number): SlotSeries {
  return {
    after: (ms) => (runAtMs > ms ? runAtMs : null),
    atOrBefore: (ms) => (runAtMs <= ms ? runAtMs : null),
  };
}

export type FireDecision =
  /** The schedule's next slot is still ahead: nothing fires (timers are never early). */
  | { action: 'not_due'; nextFireAt: number }
  /**
   * Fire the slot `fireAt` (the latest slot at or before now). `missed` when it was
   * overdue by more than the grace period (the worker was down); `collapsed` counts
   * the earlier overdue slots that this one fire stands for.
   */
  | {
      action: 'fire';
      fireAt: number;
      missed: boolean;
      lateMs: number;
      collapsed: boolean;
      nextFireAt: number | null;
    }
  /** Policy `skip`: the overdue slot does not fire; the schedule moves on. */
  | { action: 'skip'; missedAt: number; lateMs: number; nextFireAt: number | null };

export interface FireInput {
  /** The slot the ledger says is next (Schedule.nextFireAt). */
  nextFireAt: number;
  now: number;
  /** How late a fire may be and still count as on time (not "missed"). */
  graceMs: number;
  policy: MissedFirePolicy;
  series: SlotSeries;
}

/**
 * What to do with a schedule whose next slot may be due. A backlog of overdue slots
 * (downtime) collapses into its latest slot: that slot fires once (`fire_once`) or is
 * skipped (`skip`) when it is later than the grace period; a slot within the grace
 * period always fires. Either way the next slot is the first one strictly after now,
 * so a schedule never fires early and never replays a backlog.
 */
export function decideFire(input: FireInput): FireDecision {
  const { nextFireAt, now, graceMs, policy, series } = input;
  if (nextFireAt > now) return { action: 'not_due', nextFireAt };
  // The stored slot may sit off the series (its definition changed): it still counts.
  const latest = Math.max(series.atOrBefore(now) ?? nextFireAt, nextFireAt);
  const after = series.after(now);
  const lateMs = now - latest;
  const missed = lateMs > graceMs;
  if (missed && policy === 'skip')
    return { action: 'skip', missedAt: latest, lateMs, nextFireAt: after };
  return {
    action: 'fire',
    fireAt: latest,
    missed,
    lateMs,
    collapsed: latest > nextFireAt,
    nextFireAt: after,
  };
}
