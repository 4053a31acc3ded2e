import { resolve } from 'node:path';
import { loadConfig, scheduleSpecSchema } from '@app/config';

const issues = (spec: unknown) => {
  const r = scheduleSpecSchema.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('schedule spec (config `schedules:` and ScheduleService.define)', () => {
  it('parses each kind with its defaults', () => {
    expect(scheduleSpecSchema.parse({ name: 'a', workflow: 'w', cron: '0 2 * * *' })).toEqual({
      name: 'a',
      workflow: 'w',
      cron: '0 2 * * *',
      input: {},
      missed: 'fire_once',
    });
    expect(scheduleSpecSchema.parse({ name: 'b', workflow: 'w', every: '1h30m' }).every).toBe(
      5_400_000,
    );
    expect(
      scheduleSpecSchema.parse({ name: 'c', workflow: 'w', at: '2026-12-01T09:00:00+01:00' }).at,
    ).toEqual(new Date('2026-12-01T08:00:00Z'));
  });

  it.each([
    [{ name: 'x', workflow: 'w' }, /exactly one of cron, every or at/],
    [{ name: 'x', workflow: 'w', cron: '* * * * *', every: '1m' }, /got cron, every/],
    [{ name: 'x', workflow: 'w', cron: '0 25 * * *' }, /^cron: not a cron expression/],
    [{ name: 'x', workflow: 'w', cron: '0 2 * * *', timezone: 'Berlin' }, /^timezone: not an IANA/],
    [{ name: 'x', workflow: 'w', every: '1h', timezone: 'UTC' }, /timezone applies to cron only/],
    [{ name: 'x', workflow: 'w', every: '10ms' }, /^every: every must be between/],
    [{ name: 'x', workflow: 'w', every: '30d' }, /^every: every must be between/],
    [{ name: 'x', workflow: 'w', at: '2026-12-01 09:00' }, /^at:/],
    [{ name: 'x', workflow: 'w', every: '1m', missed: 'later' }, /^missed:/],
    [{ name: 'Bad Name', workflow: 'w', every: '1m' }, /^name:/],
  ])('refuses %j', (spec, message) => {
    expect(issues(spec).join('\n')).toMatch(message);
  });

  it('refuses two schedules with one name in the config', () => {
    expect(() =>
      loadConfig({
        env: {},
        path: null,
        overrides: {
          schedules: [
            { name: 'n', workflow: 'w', every: '1m' },
            { name: 'n', workflow: 'w', every: '2m' },
          ],
        },
      }),
    ).toThrow(/schedules\.1\.name: schedule "n" is defined twice/);
  });

  it('the shipped workgate.config.yaml has the nightly report schedule', () => {
    const config = loadConfig({
      env: {},
      path: resolve(__dirname, '../../../../workgate.config.yaml'),
    });
    expect(config.schedules).toContainEqual(
      expect.objectContaining({
        name: 'nightly-report',
        workflow: 'nightly-report',
        cron: '0 2 * * *',
        timezone: 'Europe/Berlin',
      }),
    );
  });
});
