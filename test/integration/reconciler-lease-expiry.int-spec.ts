import { type INestApplicationContext } from '@nestjs/common';
import { defineWorkflow, EngineControl, ReconcilerService } from '@app/engine';
import { LeaseService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const oneStep = defineWorkflow('expiry.one-step', async (ctx) => ctx.step('one', async () => 1));

/**
 * A work whose worker died is swept when its lease runs out, not a reconcile period
 * later: the reconciler's next pass is due at the earliest live lease's expiry when that
 * comes first (recovery = lease + the sweep; docs/performance.md, "Recovery").
 */
describe(`${ReconcilerService.name}: sweeping at the earliest lease expiry`, () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let worker: TestWorker | undefined;

  beforeAll(async () => {
    db = await createTestSchema('expiry');
    prefix = testQueuePrefix();
  });

  afterAll(async () => {
    await worker?.close();
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('runs a work whose lease holder vanished right after the lease ends, with a period of ten minutes', async () => {
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: 1_500, reconcileEvery: 600_000 } },
    });
    ctx = await createLedgerContext(config);
    const { workId } = await ctx
      .get(EngineControl, { strict: false })
      .start(oneStep.name, {}, { actor: 'test' });
    // A "worker" that claims the work and dies at once: nobody renews its lease.
    const claimed = await ctx.get(LeaseService).claim(workId!, 'vanished', 1_500);
    expect(claimed.ok).toBe(true);

    // The real worker's first pass (at start) sees a live lease; with a ten-minute
    // period, only a pass timed to that lease's expiry can sweep it within the wait.
    worker = await startWorker(config, [oneStep]);
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'COMPLETED',
      'the work to be swept and run by the live worker',
      20_000,
    );
    const timeline = await db.query<{ type: string; actor: string }>(
      'SELECT type, actor FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    expect(timeline.map((e) => e.type)).toEqual([
      'created',
      'claimed',
      'lease_expired',
      'claimed',
      'completed',
    ]);
  });
});
