import { type ScheduleConfig } from '@app/config';
import { intervalSlots, onceSlot, type SlotSeries } from '@app/core';
import { type ScheduleDefinition, type ScheduleRow, type ScheduleState } from '@app/ledger';
import { cronSlots } from './cron-slots.util';

/** What decides a schedule's slots. */
export type ScheduleTiming = Pick<
  ScheduleRow,
  'kind' | 'cron' | 'timezone' | 'intervalMs' | 'runAt'
>;

/**
 * The next-slot rules every writer of Schedule rows shares (the worker's engine API and
 * config sync, the gateway's operator API): pure functions of the row and the time.
 */
export function scheduleDefinition(spec: ScheduleConfig): ScheduleDefinition {
  return {
    name: spec.name,
    kind: spec.cron !== undefined ? 'cron' : spec.every !== undefined ? 'interval' : 'once',
    cron: spec.cron ?? null,
    timezone: spec.timezone ?? 'UTC',
    intervalMs: spec.every ?? null,
    runAt: spec.at ?? null,
    workflowKind: spec.workflow,
    input: spec.input,
    missedPolicy: spec.missed,
  };
}

/**
 * The state a definition lands in. An unchanged timing keeps its next slot (so a slot
 * that fell due while no worker ran is still caught up); a new or changed one starts at
 * the first slot after now; `enabled` (absent: keep) decides whether it runs at all.
 */
export function planSchedule(
  definition: ScheduleDefinition,
  enabled: boolean | undefined,
  existing: ScheduleRow | null,
  now: number,
): ScheduleState {
  const wanted = enabled ?? existing?.enabled ?? true;
  if (!wanted) return { enabled: false, nextFireAt: null };
  const unchanged = existing !== null && sameTiming(existing, definition);
  if (unchanged && existing.enabled && existing.nextFireAt)
    return { enabled: true, nextFireAt: existing.nextFireAt };
  return firstScheduleState(definition, unchanged ? existing.lastFiredAt : null, now);
}

/** A resumed schedule: its kept next slot, or the first one after now. */
export function resumedSchedule(existing: ScheduleRow, now: number): ScheduleState {
  return existing.enabled && existing.nextFireAt
    ? { enabled: true, nextFireAt: existing.nextFireAt }
    : firstScheduleState(existing, existing.lastFiredAt, now);
}

/**
 * The state of a schedule that starts (again) now: its first slot after now. A
 * one-shot's slot is its time, even a past one (it fires under its missed policy),
 * unless it has fired already: one-shots fire once, then stay disabled.
 */
export function firstScheduleState(
  s: ScheduleTiming,
  lastFiredAt: Date | null,
  now: number,
): ScheduleState {
  if (s.kind === 'once') {
    const done = lastFiredAt !== null || s.runAt === null;
    return done ? { enabled: false, nextFireAt: null } : { enabled: true, nextFireAt: s.runAt };
  }
  const first = slotSeriesOf(s).after(now);
  return { enabled: first !== null, nextFireAt: first === null ? null : new Date(first) };
}

export function slotSeriesOf(s: ScheduleTiming): SlotSeries {
  switch (s.kind) {
    case 'cron':
      if (!s.cron) throw new Error('a cron schedule without a cron expression');
      return cronSlots(s.cron, s.timezone);
    case 'interval':
      if (!s.intervalMs) throw new Error('an interval schedule without intervalMs');
      return intervalSlots(s.intervalMs);
    case 'once':
      if (!s.runAt) throw new Error('a one-shot schedule without runAt');
      return onceSlot(s.runAt.getTime());
  }
}

export function sameTiming(a: ScheduleTiming, b: ScheduleTiming): boolean {
  return (
    a.kind === b.kind &&
    a.cron === b.cron &&
    a.timezone === b.timezone &&
    a.intervalMs === b.intervalMs &&
    (a.runAt?.getTime() ?? null) === (b.runAt?.getTime() ?? null)
  );
}
