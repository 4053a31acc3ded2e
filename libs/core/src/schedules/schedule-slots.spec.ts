import fc from 'fast-check';
import { decideFire, intervalSlots, onceSlot, type SlotSeries } from './schedule-slots';

const at = (iso: string) => Date.parse(iso);
const MIN = 60_000;

describe(intervalSlots.name, () => {
  it.each([
    ['2026-05-01T10:07:30Z', 5 * MIN, '2026-05-01T10:10:00Z', '2026-05-01T10:05:00Z'],
    ['2026-05-01T10:10:00Z', 5 * MIN, '2026-05-01T10:15:00Z', '2026-05-01T10:10:00Z'],
    ['2026-05-01T10:59:59.999Z', 3_600_000, '2026-05-01T11:00:00Z', '2026-05-01T10:00:00Z'],
  ])('at %s every %d ms: next %s, last %s', (now, every, next, last) => {
    const s = intervalSlots(every);
    expect(s.after(at(now))).toBe(at(next));
    expect(s.atOrBefore(at(now))).toBe(at(last));
  });

  it('is a grid: after() is strictly later, atOrBefore() never later, one interval apart', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 86_400_000 }),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (every, now) => {
          const s = intervalSlots(every);
          const next = s.after(now)!;
          const last = s.atOrBefore(now)!;
          expect(next).toBeGreaterThan(now);
          expect(last).toBeLessThanOrEqual(now);
          expect(next - last).toBe(every);
          expect(next % every).toBe(0);
        },
      ),
    );
  });

  it.each([0, -5, 1.5, Number.NaN])('refuses interval %p', (every) => {
    expect(() => intervalSlots(every)).toThrow(RangeError);
  });
});

describe(onceSlot.name, () => {
  const runAt = at('2026-05-01T09:00:00Z');
  it('has one slot', () => {
    const s = onceSlot(runAt);
    expect(s.after(runAt - 1)).toBe(runAt);
    expect(s.after(runAt)).toBeNull();
    expect(s.atOrBefore(runAt)).toBe(runAt);
    expect(s.atOrBefore(runAt - 1)).toBeNull();
  });
});

describe(decideFire.name, () => {
  const hourly = intervalSlots(3_600_000);
  const base = { graceMs: MIN, series: hourly } as const;

  it('does not fire before the slot (never early)', () => {
    const slot = at('2026-05-01T10:00:00Z');
    expect(decideFire({ ...base, policy: 'fire_once', nextFireAt: slot, now: slot - 1 })).toEqual({
      action: 'not_due',
      nextFireAt: slot,
    });
  });

  it.each(['fire_once', 'skip'] as const)(
    'fires an on-time slot under %s and moves to the next one',
    (policy) => {
      const slot = at('2026-05-01T10:00:00Z');
      expect(decideFire({ ...base, policy, nextFireAt: slot, now: slot + 250 })).toEqual({
        action: 'fire',
        fireAt: slot,
        missed: false,
        lateMs: 250,
        collapsed: false,
        nextFireAt: at('2026-05-01T11:00:00Z'),
      });
    },
  );

  it('fire_once: after downtime, fires ONE event for the latest missed slot', () => {
    const d = decideFire({
      ...base,
      policy: 'fire_once',
      nextFireAt: at('2026-05-01T03:00:00Z'),
      now: at('2026-05-01T10:30:00Z'),
    });
    expect(d).toEqual({
      action: 'fire',
      fireAt: at('2026-05-01T10:00:00Z'),
      missed: true,
      lateMs: 30 * MIN,
      collapsed: true,
      nextFireAt: at('2026-05-01T11:00:00Z'),
    });
  });

  it('skip: after downtime, fires nothing and moves past now', () => {
    const d = decideFire({
      ...base,
      policy: 'skip',
      nextFireAt: at('2026-05-01T03:00:00Z'),
      now: at('2026-05-01T10:30:00Z'),
    });
    expect(d).toEqual({
      action: 'skip',
      missedAt: at('2026-05-01T10:00:00Z'),
      lateMs: 30 * MIN,
      nextFireAt: at('2026-05-01T11:00:00Z'),
    });
  });

  it('skip: a backlog whose latest slot is within grace still fires that slot', () => {
    const d = decideFire({
      ...base,
      policy: 'skip',
      nextFireAt: at('2026-05-01T03:00:00Z'),
      now: at('2026-05-01T10:00:20Z'),
    });
    expect(d).toMatchObject({ action: 'fire', fireAt: at('2026-05-01T10:00:00Z'), missed: false });
  });

  it('a one-shot fires once and has no next slot', () => {
    const runAt = at('2026-05-01T09:00:00Z');
    const d = decideFire({
      graceMs: MIN,
      series: onceSlot(runAt),
      policy: 'fire_once',
      nextFireAt: runAt,
      now: runAt + 5,
    });
    expect(d).toMatchObject({ action: 'fire', fireAt: runAt, nextFireAt: null });
    const skipped = decideFire({
      graceMs: MIN,
      series: onceSlot(runAt),
      policy: 'skip',
      nextFireAt: runAt,
      now: runAt + 2 * MIN,
    });
    expect(skipped).toEqual({ action: 'skip', missedAt: runAt, lateMs: 2 * MIN, nextFireAt: null });
  });

  it('a stored slot off the series (the definition changed) still fires, at its own time', () => {
    const slot = at('2026-05-01T10:17:00Z');
    const d = decideFire({ ...base, policy: 'fire_once', nextFireAt: slot, now: slot + 10 });
    expect(d).toMatchObject({
      action: 'fire',
      fireAt: slot,
      nextFireAt: at('2026-05-01T11:00:00Z'),
    });
  });

  it('never fires a slot later than now, and the next slot is always ahead', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 86_400_000 }),
        fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.constantFrom('fire_once' as const, 'skip' as const),
        (every, now, back, policy) => {
          const series: SlotSeries = intervalSlots(every);
          const nextFireAt = series.atOrBefore(now - back)!;
          const d = decideFire({ nextFireAt, now, graceMs: MIN, policy, series });
          if (d.action === 'fire') expect(d.fireAt).toBeLessThanOrEqual(now);
          if (d.action !== 'not_due') expect(d.nextFireAt!).toBeGreaterThan(now);
          if (d.action === 'skip') expect(policy).toBe('skip');
        },
      ),
    );
  });
});
