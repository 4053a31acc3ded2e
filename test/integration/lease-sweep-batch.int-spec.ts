import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { type Client } from 'pg';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '@app/core';
import { defineWorkflow, ReconcilerService } from '@app/engine';
import { LeaseService, LedgerDatabase, WorkRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const oneStep = defineWorkflow('sweep.one-step', async (ctx) => ctx.step('one', async () => 1));

/**
 * One reconciler pass recovers every expired lease it finds in ONE transaction: a
 * transaction per row queued for a pooled connection behind the busy runs each time, and
 * recovery after a worker's death crawled at ~0.8 s a row (simulation seed 3, batched).
 * A row a frozen holder keeps locked is skipped, never waited on, and a row whose
 * transition fails is left for the next pass without undoing the others.
 */
describe(`${ReconcilerService.name}: one transaction per lease sweep`, () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let worker: TestWorker | undefined;
  let holder: Client | undefined;

  beforeEach(async () => {
    db = await createTestSchema('sweepbatch');
    prefix = testQueuePrefix();
    // Passes only at worker start and when the test asks; lock waits end after 300 ms.
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: 60_000, reconcileEvery: 600_000 },
        database: { lockTimeout: 300 },
      },
    });
    ctx = await createLedgerContext(config);
    // Which transaction wrote each lease_expired entry: txid_current() names the top
    // transaction even inside a savepoint (a row's xmin would name the savepoint's).
    await db.query(`CREATE TABLE sweep_tx ("workId" uuid, xid bigint)`);
    await db.query(
      `CREATE FUNCTION note_sweep_tx() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO sweep_tx VALUES (NEW."workId", txid_current()); RETURN NEW; END $$`,
    );
    await db.query(
      `CREATE TRIGGER note_sweep_tx AFTER INSERT ON "WorkEvent" FOR EACH ROW
       WHEN (NEW.type = 'lease_expired') EXECUTE FUNCTION note_sweep_tx()`,
    );
    startWorkerLater = () => startWorker(config, [oneStep]);
  });

  afterEach(async () => {
    await holder?.query('ROLLBACK').catch(() => undefined);
    await holder?.end().catch(() => undefined);
    holder = undefined;
    await worker?.close();
    worker = undefined;
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  let startWorkerLater: () => Promise<TestWorker>;

  /** Works RUNNING under a "vanished" worker whose leases ran out a second ago. */
  async function expiredWorks(n: number, retryPolicy: RetryPolicy): Promise<string[]> {
    const ledger = ctx.get(LedgerDatabase);
    const works = ctx.get(WorkRepository);
    const leases = ctx.get(LeaseService);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      await ledger.transaction((client) =>
        works.create(
          client,
          {
            id,
            kind: oneStep.name,
            sourceType: 'test',
            sourceId: null,
            conversationKey: null,
            input: {},
            retryPolicy,
          },
          'test',
        ),
      );
      expect((await leases.claim(id, 'vanished', 60_000)).ok).toBe(true);
      ids.push(id);
    }
    await db.query(
      `UPDATE "Work" SET "leaseExpiresAt" = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return ids;
  }

  /** The transaction that wrote each work's lease_expired entry. */
  const sweepTransactions = async (ids: string[]) =>
    db.query<{ workId: string; xid: string }>(
      `SELECT "workId", xid::text AS xid FROM sweep_tx WHERE "workId" = ANY($1::uuid[])`,
      [ids],
    );

  const stateOf = async (id: string) =>
    (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [id]))[0]?.state;

  it('recovers all the expired rows of a pass in one transaction, skipping a row a frozen holder locks', async () => {
    const [frozen, ...others] = await expiredWorks(6, DEFAULT_RETRY_POLICY);
    // A frozen worker's session: idle in a transaction that holds the row's lock.
    holder = await db.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM "Work" WHERE id = $1 FOR UPDATE', [frozen]);

    worker = await startWorkerLater();
    // The pass at start, or a later one that finds nothing more: either way, done.
    await worker.reconciler.reconcile();
    const swept = await sweepTransactions(others);
    expect(swept.map((s) => s.workId).sort()).toEqual([...others].sort());
    expect(new Set(swept.map((s) => s.xid)).size).toBe(1);
    expect(await stateOf(frozen!)).toBe('RUNNING');

    // Once the holder's session ends, a later pass (one is due at once: a lease has
    // run out) sweeps its row too.
    await holder.query('ROLLBACK');
    await until(
      async () => (await sweepTransactions([frozen!])).length === 1,
      'the freed row to be swept',
    );
    await until(
      async () => {
        const states = await Promise.all([frozen!, ...others].map(stateOf));
        return states.every((s) => s === 'COMPLETED') && states;
      },
      'every swept work to run again and complete',
      20_000,
    );
  });

  it('leaves a row whose transition fails for the next pass, keeping the others it recovered', async () => {
    // Out of attempts: the sweep fails these works, which cancels their open waits.
    const lastAttempt: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 };
    const [blocked, ...others] = await expiredWorks(4, lastAttempt);
    await db.query(
      `INSERT INTO "Wait" (id, "workId", "stepSeq", type) VALUES ($1, $2, 1, 'event')`,
      [randomUUID(), blocked],
    );
    // The wait's row lock, held past lock_timeout: that work's transition cannot finish.
    holder = await db.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM "Wait" WHERE "workId" = $1 FOR UPDATE', [blocked]);

    worker = await startWorkerLater();
    await worker.reconciler.reconcile();
    expect((await sweepTransactions(others)).map((s) => s.workId).sort()).toEqual(
      [...others].sort(),
    );
    for (const id of others) expect(await stateOf(id)).toBe('FAILED');
    expect(await stateOf(blocked!)).toBe('RUNNING');
    expect(await sweepTransactions([blocked!])).toEqual([]);

    await holder.query('ROLLBACK');
    await until(async () => (await stateOf(blocked!)) === 'FAILED', 'the blocked work to fail');
    const waits = await db.query<{ status: string }>(
      'SELECT status::text AS status FROM "Wait" WHERE "workId" = $1',
      [blocked],
    );
    expect(waits).toEqual([{ status: 'cancelled' }]);
  });
});
