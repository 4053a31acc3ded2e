import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { intervalSlots, scheduleFireId } from '@app/core';
import { defineWorkflow, ScheduleService } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_REDIS_URL } from '@test/env';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const tick = defineWorkflow('tick', async (_ctx, input: any) => ({ got: input }));

// 20 days: a slot of this grid never comes due while the file runs, so only what the
// test does (or the downtime it simulates) fires these schedules.
const LONG = 20 * 86_400_000;
const longGrid = intervalSlots(LONG);

interface FireRow {
  externalId: string;
  workId: string;
  body: any;
  receivedAt: Date;
  kind: string;
}

describe(ScheduleService.name, () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker;
  let schedules: ScheduleService;
  let redis: Redis;
  let wake: Queue;
  const downtime = { fireOnce: randomUUID(), skip: randomUUID() };
  let startedAt: number;

  const fires = (schedule: string) =>
    db.query<FireRow & Record<string, unknown>>(
      `SELECT e."externalId", e."workId", e.body, e."receivedAt", w.kind
         FROM "InboundEvent" e JOIN "Work" w ON w.id = e."workId"
        WHERE e.channel = 'schedule' AND e.source = $1 ORDER BY e."receivedAt", e."externalId"`,
      [schedule],
    );
  const row = async (name: string) =>
    (await db.query<any>('SELECT * FROM "Schedule" WHERE name = $1', [name]))[0];
  const firesAtLeast = (schedule: string, n: number, timeoutMs = 10_000) =>
    until(
      async () => {
        const list = await fires(schedule);
        return list.length >= n ? list : null;
      },
      `${n} fires of ${schedule}`,
      timeoutMs,
    );

  beforeAll(async () => {
    db = await createTestSchema('schedules');
    prefix = testQueuePrefix();
    // "Downtime": rows whose next slot passed three slots ago, written before any worker runs.
    const threeSlotsAgo = new Date(longGrid.atOrBefore(Date.now())! - 2 * LONG);
    for (const [id, name, policy] of [
      [downtime.fireOnce, 'down-fire-once', 'fire_once'],
      [downtime.skip, 'down-skip', 'skip'],
    ] as const) {
      await db.query(
        `INSERT INTO "Schedule" (id, name, kind, "intervalMs", "workflowKind", "missedPolicy", "nextFireAt")
         VALUES ($1, $2, 'interval', $3, 'tick', $4, $5)`,
        [id, name, LONG, policy, threeSlotsAgo],
      );
    }
    startedAt = Date.now();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { lease: '2s', reconcileEvery: '200ms', concurrency: 4 },
          schedules: [
            { name: 'from-config', workflow: 'tick', every: '20d', input: { origin: 'config' } },
          ],
        },
      }),
      [tick],
    );
    schedules = worker.app.get(ScheduleService);
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    wake = new Queue('wake', { connection: redis, prefix });
  });

  afterAll(async () => {
    await wake?.close();
    redis?.disconnect();
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  describe('missed fires after downtime', () => {
    it('fire_once: exactly one work, for the latest missed slot', async () => {
      const latest = longGrid.atOrBefore(startedAt)!;
      const next = longGrid.after(startedAt)!;
      await until(
        async () => (await row('down-fire-once'))?.nextFireAt?.getTime() === next,
        'the fire_once schedule to move past now',
      );
      const list = await fires('down-fire-once');
      expect(list.map((f) => f.externalId)).toEqual([scheduleFireId(downtime.fireOnce, latest)]);
      expect(list[0]!.body).toMatchObject({
        schedule: 'down-fire-once',
        fireAt: new Date(latest).toISOString(),
      });
      expect((await row('down-fire-once')).lastFiredAt.getTime()).toBe(latest);
    });

    it('skip: no work, and the next slot is the first after now', async () => {
      const next = longGrid.after(startedAt)!;
      await until(
        async () => (await row('down-skip'))?.nextFireAt?.getTime() === next,
        'the skip schedule to move past now',
      );
      expect(await fires('down-skip')).toEqual([]);
      expect((await row('down-skip')).lastFiredAt).toBeNull();
    });
  });

  it('upserts config schedules at start and arms a job scheduler for them', async () => {
    const cfg = await row('from-config');
    expect(cfg).toMatchObject({ kind: 'interval', intervalMs: LONG, workflowKind: 'tick' });
    expect(cfg.nextFireAt.getTime()).toBe(longGrid.after(cfg.createdAt.getTime()));
    const scheduler = await until(
      () => wake.getJobScheduler(`schedule:${cfg.id}`),
      'the job scheduler of the config schedule',
    );
    expect(scheduler.every).toBe(LONG);
    expect(scheduler.next).toBe(cfg.nextFireAt.getTime());
  });

  it('an interval schedule fires repeatedly, a distinct work per slot, never early', async () => {
    const def = await schedules.define({ name: 'every-400', workflow: 'tick', every: '400ms' });
    expect(def.nextFireAt!.getTime() % 400).toBe(0);
    const list = await firesAtLeast('every-400', 3);
    const slots = list.map((f) => Date.parse(f.body.fireAt));
    expect(new Set(list.map((f) => f.workId)).size).toBe(list.length);
    expect(list.map((f) => f.externalId)).toEqual(slots.map((s) => scheduleFireId(def.id, s)));
    for (const [i, slot] of slots.entries()) {
      expect(slot % 400).toBe(0);
      if (i > 0) expect(slot).toBeGreaterThan(slots[i - 1]!);
      expect(list[i]!.receivedAt.getTime()).toBeGreaterThanOrEqual(slot);
      expect(list[i]!.kind).toBe('tick');
    }
    await schedules.remove('every-400');
  });

  it('two runs for the same slot open one work (deduped on schedule id + slot time)', async () => {
    const def = await schedules.define({ name: 'dedupe', workflow: 'tick', every: '20d' });
    const slot = longGrid.atOrBefore(Date.now())!;
    await db.query('UPDATE "Schedule" SET "nextFireAt" = $2 WHERE id = $1', [
      def.id,
      new Date(slot),
    ]);
    const outcomes = await Promise.all([
      schedules.handleFire({ scheduleId: def.id }),
      schedules.handleFire({ scheduleId: def.id }),
      schedules.fireDue(def.id),
    ]);
    expect(outcomes.filter((o) => o === 'fired').length).toBeLessThanOrEqual(1);
    expect(await schedules.handleFire({ scheduleId: def.id })).toBe('not_due');
    const list = await fires('dedupe');
    expect(list.map((f) => f.externalId)).toEqual([scheduleFireId(def.id, slot)]);
    const after = await row('dedupe');
    expect(after.lastFiredAt.getTime()).toBe(slot);
    expect(after.nextFireAt.getTime()).toBe(longGrid.after(Date.now()));
  });

  it('a cron schedule fires on its slots in its time zone', async () => {
    const def = await schedules.define({
      name: 'cron-each-second',
      workflow: 'tick',
      cron: '* * * * * *',
      timezone: 'Asia/Kolkata',
    });
    const scheduler = await wake.getJobScheduler(`schedule:${def.id}`);
    expect(scheduler).toMatchObject({ pattern: '* * * * * *', tz: 'Asia/Kolkata' });
    const list = await firesAtLeast('cron-each-second', 2);
    for (const f of list) {
      expect(Date.parse(f.body.fireAt) % 1000).toBe(0);
      expect(f.receivedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(f.body.fireAt));
    }
    await schedules.remove('cron-each-second');
    expect(await wake.getJobScheduler(`schedule:${def.id}`)).toBeUndefined();
  });

  it('a one-shot fires at its time exactly once, then disables itself', async () => {
    const runAt = Date.now() + 600;
    const def = await schedules.define({
      name: 'one-shot',
      workflow: 'tick',
      at: new Date(runAt).toISOString(),
      input: { note: 'hello' },
    });
    expect(def).toMatchObject({ kind: 'once', enabled: true });
    const [fire] = await firesAtLeast('one-shot', 1);
    expect(fire!.externalId).toBe(scheduleFireId(def.id, runAt));
    expect(fire!.receivedAt.getTime()).toBeGreaterThanOrEqual(runAt);
    expect(fire!.body).toMatchObject({ note: 'hello', schedule: 'one-shot' });
    await until(async () => (await row('one-shot')).enabled === false, 'the one-shot to disable');
    expect(await row('one-shot')).toMatchObject({ nextFireAt: null });
    // Another run of its job, a reconciler pass, and the same definition again: still one.
    expect(await schedules.handleFire({ scheduleId: def.id, fireAt: runAt })).toBe('stale');
    await worker.reconciler.reconcile();
    expect(
      (await schedules.define({ name: 'one-shot', workflow: 'tick', at: new Date(runAt) })).enabled,
    ).toBe(false);
    expect(await fires('one-shot')).toHaveLength(1);
  });

  it('pause stops firing, resume starts again from the next slot', async () => {
    await schedules.define({ name: 'pausable', workflow: 'tick', every: '300ms' });
    await schedules.define({ name: 'metronome', workflow: 'tick', every: '300ms' });
    await firesAtLeast('pausable', 1);
    const paused = await schedules.pause('pausable');
    expect(paused).toMatchObject({ enabled: false, nextFireAt: null });
    // Time passes, measured in fires of another schedule on the same grid. (A fire that
    // was already past its checks when pause committed may still land: count after one tick.)
    const base = (await fires('metronome')).length;
    await firesAtLeast('metronome', base + 1);
    const before = (await fires('pausable')).length;
    await firesAtLeast('metronome', base + 5);
    expect(await fires('pausable')).toHaveLength(before);
    expect(await wake.getJobScheduler(`schedule:${paused.id}`)).toBeUndefined();

    const resumed = await schedules.resume('pausable');
    expect(resumed.enabled).toBe(true);
    expect(resumed.nextFireAt!.getTime()).toBeGreaterThan(Date.now() - 300);
    const after = await firesAtLeast('pausable', before + 2);
    // Nothing for the slots that passed while paused.
    const gap = after.slice(before).map((f) => Date.parse(f.body.fireAt));
    expect(gap[0]).toBeGreaterThanOrEqual(resumed.nextFireAt!.getTime());
    await schedules.remove('metronome');
    await schedules.remove('pausable');
    expect((await schedules.list()).map((s) => s.name)).not.toContain('pausable');
  });

  it('keeps an unchanged schedule’s next slot when it is defined again; a changed one moves', async () => {
    const first = await schedules.define({ name: 'stable', workflow: 'tick', every: '20d' });
    const again = await schedules.define({ name: 'stable', workflow: 'tick', every: '20d' });
    expect(again.id).toBe(first.id);
    expect(again.nextFireAt).toEqual(first.nextFireAt);
    const changed = await schedules.define({ name: 'stable', workflow: 'tick', every: '10d' });
    expect(changed.intervalMs).toBe(10 * 86_400_000);
    expect(changed.nextFireAt!.getTime()).toBe(intervalSlots(10 * 86_400_000).after(Date.now()));
    expect((await wake.getJobScheduler(`schedule:${first.id}`))?.every).toBe(10 * 86_400_000);
  });

  it('refuses an unknown workflow and a malformed spec', async () => {
    await expect(
      schedules.define({ name: 'nope', workflow: 'missing', every: '1m' }),
    ).rejects.toThrow(/workflow "missing", which is not registered/);
    await expect(
      schedules.define({ name: 'both', workflow: 'tick', every: '1m', cron: '* * * * *' }),
    ).rejects.toThrow(/exactly one of cron, every or at/);
    await expect(schedules.pause('no-such-schedule')).rejects.toThrow(/no schedule/);
  });

  it('after Redis loses its keys, the full rebuild re-arms the scheduler and it fires again', async () => {
    const def = await schedules.define({ name: 'survivor', workflow: 'tick', every: '300ms' });
    await firesAtLeast('survivor', 1);
    await deleteKeys(prefix);
    await worker.reconciler.reconcile();
    await until(
      () => wake.getJobScheduler(`schedule:${def.id}`),
      'the rebuilt job scheduler of the schedule',
    );
    const count = (await fires('survivor')).length;
    await firesAtLeast('survivor', count + 2);
    // The config schedule's scheduler came back too.
    const cfg = await row('from-config');
    expect(await wake.getJobScheduler(`schedule:${cfg.id}`)).toMatchObject({ every: LONG });
    await schedules.remove('survivor');
  });
});

describe('schedules in the config', () => {
  it('a schedule naming an unknown workflow stops the worker at start', async () => {
    const config = testConfig({
      schema: 'unused_schema',
      prefix: testQueuePrefix(),
      overrides: {
        schedules: [{ name: 'orphan', workflow: 'ghost', cron: '0 2 * * *' }],
        // The schema does not exist: a configured secret keeps the start off the ledger
        // until the workflow check has run.
        chat: { buttonSecrets: ['a-configured-button-secret'] },
      },
    });
    await expect(startWorker(config, [tick])).rejects.toThrow(
      /unknown workflow kind\(s\): "ghost" \(schedules\[0\] \(orphan\)\.workflow\)/,
    );
  });
});
