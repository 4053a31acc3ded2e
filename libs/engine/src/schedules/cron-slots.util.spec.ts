import { decideFire } from '@app/core';
import { cronSlots } from './cron-slots.util';

const at = (iso: string) => Date.parse(iso);

describe(cronSlots.name, () => {
  it.each([
    // 02:00 in Berlin is 01:00Z in winter (CET) and 00:00Z in summer (CEST).
    ['0 2 * * *', 'Europe/Berlin', '2026-01-15T12:00:00Z', '2026-01-16T01:00:00.000Z'],
    ['0 2 * * *', 'Europe/Berlin', '2026-07-15T12:00:00Z', '2026-07-16T00:00:00.000Z'],
    ['0 2 * * *', 'UTC', '2026-07-15T12:00:00Z', '2026-07-16T02:00:00.000Z'],
    ['0 9 * * 1-5', 'America/New_York', '2026-07-17T14:00:00Z', '2026-07-20T13:00:00.000Z'],
    ['30 8 * * *', 'Asia/Kolkata', '2026-05-01T00:00:00Z', '2026-05-01T03:00:00.000Z'],
    ['*/5 * * * * *', 'UTC', '2026-05-01T00:00:02.500Z', '2026-05-01T00:00:05.000Z'],
  ])('%s in %s after %s is %s', (cron, tz, now, next) => {
    expect(new Date(cronSlots(cron, tz).after(at(now))!).toISOString()).toBe(next);
  });

  it('after() is strictly after a slot, atOrBefore() includes it', () => {
    const slot = at('2026-01-16T01:00:00Z');
    const s = cronSlots('0 2 * * *', 'Europe/Berlin');
    expect(s.after(slot)).toBe(at('2026-01-17T01:00:00Z'));
    expect(s.atOrBefore(slot)).toBe(slot);
    expect(s.atOrBefore(slot - 1)).toBe(at('2026-01-15T01:00:00Z'));
  });

  it('skips the hour a DST change removes without firing early', () => {
    // 2026-03-29: Berlin jumps from 02:00 to 03:00; the 02:00 slot runs at 03:00 local.
    const s = cronSlots('0 2 * * *', 'Europe/Berlin');
    const next = s.after(at('2026-03-28T12:00:00Z'))!;
    expect(next).toBeGreaterThanOrEqual(at('2026-03-29T00:59:59Z'));
    expect(s.after(next)).toBe(at('2026-03-30T00:00:00Z'));
  });

  it('computes the latest missed slot of a nightly schedule after downtime', () => {
    const series = cronSlots('0 2 * * *', 'Europe/Berlin');
    const d = decideFire({
      nextFireAt: at('2026-01-10T01:00:00Z'),
      now: at('2026-01-15T09:00:00Z'),
      graceMs: 60_000,
      policy: 'fire_once',
      series,
    });
    expect(d).toMatchObject({
      action: 'fire',
      fireAt: at('2026-01-15T01:00:00Z'),
      missed: true,
      nextFireAt: at('2026-01-16T01:00:00Z'),
    });
  });

  it.each([
    ['not a cron', 'UTC'],
    ['0 25 * * *', 'UTC'],
    ['0 2 * * *', 'Mars/Olympus_Mons'],
  ])('refuses %p in %p', (cron, tz) => {
    expect(() => cronSlots(cron, tz)).toThrow();
  });
});
