import { type INestApplicationContext } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { defineWorkflow, EngineControl, ReconcilerService } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_REDIS_URL } from '@test/env';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const oneStep = defineWorkflow('rescue.one-step', async (ctx) => ctx.step('one', async () => 1));

/**
 * A worker killed between taking a run job and claiming its work leaves the job in
 * BullMQ's active list (until stall detection, about a minute) and the work QUEUED;
 * re-enqueueing under the same job id is a no-op. The reconciler must run it anyway.
 */
describe(`${ReconcilerService.name}: run jobs stuck with a dead worker`, () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let worker: TestWorker | undefined;
  let connection: Redis;

  beforeAll(async () => {
    db = await createTestSchema('rescue');
    prefix = testQueuePrefix();
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    await worker?.close();
    await ctx?.close();
    connection.disconnect();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('gives a work QUEUED longer than a lease, whose job a dead worker holds, a job that runs it', async () => {
    // A long reconcile period: only the pass at worker start runs during the test.
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: 1_000, reconcileEvery: 600_000 } },
    });
    ctx = await createLedgerContext(config);
    const { workId } = await ctx
      .get(EngineControl, { strict: false })
      .start(oneStep.name, {}, { actor: 'test' });

    // The "dead" worker takes the job and never claims, completes or renews it.
    const dead = new Worker('work', null, { connection, prefix, autorun: false });
    const taken = await dead.getNextJob('dead-worker-token');
    expect(taken?.id).toBe(`work:${workId}:1`);
    const queue = new Queue('work', { connection, prefix });
    expect(await queue.getJobState(`work:${workId}:1`)).toBe('active');
    await queue.close();
    // Queued for longer than the lease.
    await db.query(`UPDATE "Work" SET "updatedAt" = now() - interval '5 seconds' WHERE id = $1`, [
      workId,
    ]);

    worker = await startWorker(config, [oneStep]);
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'COMPLETED',
      'the work to complete through its rescue job',
    );
    const steps = await db.query<{ name: string; attempt: number }>(
      'SELECT name, attempt FROM "Step" WHERE "workId" = $1',
      [workId],
    );
    expect(steps).toEqual([{ name: 'one', attempt: 1 }]);
    await dead.close(true);
  });

  it('runs a work whose run job and rescue job both failed (their ids kept for a day)', async () => {
    await worker?.close();
    worker = undefined;
    // The reconciler's leadership lease of the first test's worker, which may outlive it.
    await connection.del(`${prefix}:reconciler:leader`);
    await ctx?.close();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: 1_000, reconcileEvery: 600_000 } },
    });
    ctx = await createLedgerContext(config);
    const { workId } = await ctx
      .get(EngineControl, { strict: false })
      .start(oneStep.name, {}, { actor: 'test' });

    // Both jobs are taken and failed (a worker that threw, e.g. PostgreSQL down while
    // it claimed): BullMQ keeps a failed job's id for a day, so add() under either id
    // is a no-op.
    const failing = new Worker('work', null, { connection, prefix, autorun: false });
    const queue = new Queue('work', { connection, prefix });
    const primary = await failing.getNextJob('failing-worker');
    expect(primary?.id).toBe(`work:${workId}:1`);
    await primary.moveToFailed(new Error('database unavailable'), 'failing-worker', false);
    await queue.add('run', { workId, runSeq: 1 }, { jobId: `work:${workId}:1-rescue` });
    const rescue = await failing.getNextJob('failing-worker');
    expect(rescue?.id).toBe(`work:${workId}:1-rescue`);
    await rescue.moveToFailed(new Error('database unavailable'), 'failing-worker', false);
    expect(await queue.getJobState(`work:${workId}:1`)).toBe('failed');
    expect(await queue.getJobState(`work:${workId}:1-rescue`)).toBe('failed');
    await failing.close(true);
    await queue.close();
    // Queued for longer than a lease and than a reconcile period (the pass is not a
    // full rebuild: the first test's worker left the marker).
    await db.query(`UPDATE "Work" SET "updatedAt" = now() - interval '20 minutes' WHERE id = $1`, [
      workId,
    ]);

    worker = await startWorker(config, [oneStep]);
    await worker.reconciler.reconcile();
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'COMPLETED',
      'the work to complete though both of its jobs had failed',
    );
  });
});
