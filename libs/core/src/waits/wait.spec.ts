import { resolveWait, WAIT_STATUSES, type WaitResolution } from './wait';

const RESOLUTIONS: WaitResolution[] = ['satisfy', 'time_out', 'cancel'];

describe(resolveWait.name, () => {
  it.each([
    ['satisfy', 'satisfied'],
    ['time_out', 'timed_out'],
    ['cancel', 'cancelled'],
  ] as const)('resolves an open wait: %s → %s', (resolution, status) => {
    expect(resolveWait('open', resolution)).toEqual({ ok: true, status });
  });

  it.each(
    WAIT_STATUSES.filter((s) => s !== 'open').flatMap((status) =>
      RESOLUTIONS.map((r) => [status, r] as const),
    ),
  )('refuses to resolve a %s wait again (%s)', (status, resolution) => {
    expect(resolveWait(status, resolution)).toEqual({
      ok: false,
      reason: expect.stringContaining(status),
    });
  });

  it.each([
    ['satisfy', 'time_out'],
    ['time_out', 'satisfy'],
    ['satisfy', 'cancel'],
    ['cancel', 'satisfy'],
  ] as const)('lets only the first of %s and %s win', (first, second) => {
    const a = resolveWait('open', first);
    if (!a.ok) throw new Error(a.reason);
    expect(resolveWait(a.status, second).ok).toBe(false);
  });
});
