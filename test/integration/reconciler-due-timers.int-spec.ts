import { defineWorkflow, ReconcilerService } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const sleeper = defineWorkflow('due.sleeper', async (ctx) => {
  await ctx.sleep(3_600_000);
  return 'woke';
});

/**
 * The reconciler fires overdue timers a page at a time. A PAUSED work's timer does not
 * fire (resume fires it), so more paused works' due waits than one page, all older
 * than a waiting work's, must not hide that work's timer for ever.
 */
describe(`${ReconcilerService.name}: overdue timers behind a page of paused works`, () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    db = await createTestSchema('duetimers');
    prefix = testQueuePrefix();
  });

  afterAll(async () => {
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('fires a due timer that comes after more than a page of paused works', async () => {
    const config = testConfig({
      schema: db.schema,
      prefix,
      // No timer wheel: the test counts what the reconciler's pass fires.
      overrides: { worker: { reconcileEvery: 600_000, timerLookahead: 0 } },
    });
    worker = await startWorker(config, [sleeper]);
    const { workId } = await worker.control.start(sleeper.name, {}, { actor: 'test' });
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'WAITING',
      'the work to sleep',
    );
    // 600 PAUSED copies of it (more than the reconciler's page of 500), each with a wait
    // due an hour ago; the real work's wait falls due now, after all of them.
    await db.query(
      `WITH copies AS (
         SELECT gen_random_uuid() AS id, i FROM generate_series(1, 600) i
       ), works AS (
         INSERT INTO "Work"
         SELECT (jsonb_populate_record(null::"Work", to_jsonb(w) || jsonb_build_object(
           'id', c.id, 'state', 'PAUSED', 'pausedFrom', 'WAITING'))).*
         FROM "Work" w, copies c WHERE w.id = $1
         RETURNING id
       )
       INSERT INTO "Wait"
       SELECT (jsonb_populate_record(null::"Wait", to_jsonb(t) || jsonb_build_object(
         'id', gen_random_uuid(), 'workId', c.id,
         'timeoutAt', now() - interval '1 hour' + c.i * interval '1 millisecond'))).*
       FROM "Wait" t, copies c WHERE t."workId" = $1 AND EXISTS (SELECT 1 FROM works)`,
      [workId],
    );
    await db.query(`UPDATE "Wait" SET "timeoutAt" = now() WHERE "workId" = $1`, [workId]);
    // The delayed BullMQ job fires in an hour: only the reconciler's catch-up can wake it.
    const report = await worker.reconciler.reconcile();
    expect(report.timersFired).toBe(1);
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'COMPLETED',
      'the waiting work to wake and complete',
    );
    const paused = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Work" WHERE state = 'PAUSED'`,
    );
    expect(paused[0]!.n).toBe(600);
  });
});
