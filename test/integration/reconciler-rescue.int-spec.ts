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
});
