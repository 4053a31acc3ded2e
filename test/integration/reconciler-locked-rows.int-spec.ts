import { defineWorkflow, ReconcilerService } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const sleeper = defineWorkflow('locked.sleeper', async (ctx) => {
  await ctx.sleep(3_600_000);
  return 'woke';
});

/**
 * A reconcile pass goes through rows one after another. Rows another session keeps
 * locked (a frozen worker idle in its transaction) must not hold the pass up for the
 * lock_timeout of each: the pass skips them and the next one retries, so the lease
 * sweep at the start of the next pass is not seconds late (the frozen-lock-holder fault
 * test found a pass stuck 5 s a row). lock_timeout is a minute here: on a pass that
 * waited it out, reconcile() would not return before the test's own timeout.
 */
describe(`${ReconcilerService.name}: rows locked by another session`, () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    db = await createTestSchema('lockedrows');
    prefix = testQueuePrefix();
  });

  afterAll(async () => {
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const states = async (ids: string[]): Promise<string[]> =>
    (
      await db.query<{ id: string; state: string }>(
        'SELECT id, state FROM "Work" WHERE id = ANY($1::uuid[])',
        [ids],
      )
    )
      .sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id))
      .map((r) => r.state);

  it('fires the due timers it can and skips the locked ones without waiting out lock_timeout', async () => {
    const config = testConfig({
      schema: db.schema,
      prefix,
      // No timer wheel: the test counts what the reconciler's passes fire.
      overrides: {
        worker: { reconcileEvery: 600_000, timerLookahead: 0 },
        database: { lockTimeout: 60_000 },
      },
    });
    worker = await startWorker(config, [sleeper]);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await worker.control.start(sleeper.name, {}, { actor: 'test' })).workId!);
    await until(
      async () => (await states(ids)).every((s) => s === 'WAITING'),
      'the works to sleep',
    );
    // Due now; their delayed BullMQ jobs fire in an hour: only the reconciler wakes them.
    await db.query(`UPDATE "Wait" SET "timeoutAt" = now() WHERE "workId" = ANY($1::uuid[])`, [ids]);
    const holder = await db.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM "Work" WHERE id = ANY($1::uuid[]) FOR UPDATE', [
        ids.slice(0, 3),
      ]);
      const report = await worker.reconciler.reconcile();
      expect(report.timersFired).toBe(1);
      await until(
        async () => (await states(ids))[3] === 'COMPLETED',
        'the unlocked work to wake and complete',
      );
      expect((await states(ids)).slice(0, 3)).toEqual(['WAITING', 'WAITING', 'WAITING']);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    // The locks gone, the next pass fires the rest.
    const next = await worker.reconciler.reconcile();
    expect(next.timersFired).toBe(3);
    await until(
      async () => (await states(ids)).every((s) => s === 'COMPLETED'),
      'every work to complete',
    );
  });
});
