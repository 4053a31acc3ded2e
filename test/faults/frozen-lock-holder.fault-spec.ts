import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { LoopbackServer } from '@test/loopback-server';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/**
 * Worker A frozen (SIGSTOP) inside a transaction that holds a Work row lock (its backend
 * sits `idle in transaction`), worker C killed -9 while running 10 works, worker B
 * alive. C's works must be recovered about a lease after the kill though A is still
 * frozen: no sweep or claim may wait on the lock A keeps. PostgreSQL then ends A's
 * session (idle_in_transaction_session_timeout); thawed, A does not crash, its late
 * writes are refused, and every work completes once.
 */
describe('a worker frozen while it holds a row lock', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('frozenlock');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    for (const w of workers) {
      w.child.kill('SIGCONT');
      await w.stop('SIGKILL');
    }
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  /**
   * Backends idle inside a transaction holding a lock on "Work" (`among`: only these).
   * While A is the only worker, any such backend is A's.
   */
  const lockHolders = async (among?: number[]): Promise<number[]> =>
    (
      await db.query<{ pid: number }>(
        `SELECT DISTINCT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
          WHERE a.state = 'idle in transaction' AND l.granted AND l.relation = to_regclass($1)
            AND ($2::int[] IS NULL OR a.pid = ANY($2::int[]))`,
        [`"${db.schema}"."Work"`, among ?? null],
      )
    ).map((r) => r.pid);

  /** RUNNING works whose row lock some session holds (the rows SKIP LOCKED leaves out). */
  const lockedRunning = async (): Promise<number> =>
    (
      await db.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM "Work" WHERE state = 'RUNNING')
              - (SELECT count(*) FROM (SELECT id FROM "Work" WHERE state = 'RUNNING'
                   FOR UPDATE SKIP LOCKED) f) AS n`,
      )
    )[0]!.n;

  /** What a timeout needs to say: each unfinished work's lease, steps and last events. */
  const unfinished = (ids: string[]): Promise<unknown[]> =>
    db.query(
      `SELECT w.id, w.state, w."leaseOwner", w.attempt,
              round(extract(epoch FROM w."leaseExpiresAt" - now()) * 1000) AS "leaseLeftMs",
              (SELECT json_agg(json_build_object('seq', s.seq, 'status', s.status, 'attempt', s.attempt))
                 FROM "Step" s WHERE s."workId" = w.id) AS steps,
              (SELECT json_agg(e.type || ' by ' || e.actor ORDER BY e.seq)
                 FROM "WorkEvent" e WHERE e."workId" = w.id) AS events
         FROM "Work" w WHERE w.id = ANY($1::uuid[]) AND w.state <> 'COMPLETED'`,
      [ids],
    );

  /** Sessions waiting on a lock, and what they run. */
  const blocked = (): Promise<unknown[]> =>
    db.query(
      `SELECT pid, state, left(query, 160) AS query,
              round(extract(epoch FROM now() - query_start) * 1000) AS "forMs"
         FROM pg_stat_activity WHERE wait_event_type = 'Lock'`,
    );

  it('recovers a killed worker’s works while another is frozen holding a lock, and fences the frozen one', async () => {
    const lease = writeWorkerConfig({ lease: '2s', reconcileEvery: '250ms', concurrency: 32 });
    // A's sessions outlive the recovery below by far: only not waiting on A's lock
    // can recover C's works in time.
    const configA = writeWorkerConfig({
      lease: '2s',
      reconcileEvery: '250ms',
      concurrency: 32,
      extra: 'database:\n  idleInTransactionTimeout: 25s',
    });
    const a = spawnWorker({ schema: db.schema, prefix, configPath: configA, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);
    const control = ctx.get(EngineControl, { strict: false });
    const dozers: string[] = [];
    for (let i = 0; i < 24; i++)
      dozers.push(
        (await control.start('fault.dozer', { naps: 40, ms: 10 }, { actor: 'test' })).workId!,
      );
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "WorkEvent" WHERE type = 'waiting'`,
          )
        )[0]!.n > 50,
      'worker a to be busy opening waits',
    );

    // Freeze A until one of its backends is caught inside a transaction holding the row
    // lock of a RUNNING work (a run's fenced write: the lease sweep will want that row).
    let frozen: number[] = [];
    for (let i = 0; i < 400 && !frozen.length; i++) {
      a.child.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 30)); // let the statement in flight finish
      frozen = (await lockedRunning()) > 0 ? await lockHolders() : [];
      if (!frozen.length) {
        a.child.kill('SIGCONT');
        await new Promise((r) => setTimeout(r, 10 + (i % 7) * 3));
      }
    }
    expect(frozen.length).toBeGreaterThan(0);

    const c = spawnWorker({ schema: db.schema, prefix, configPath: lease, name: 'worker-c' });
    workers.push(c);
    await workerStarted(c);
    const held: string[] = [];
    for (let i = 0; i < 10; i++)
      held.push(
        (
          await control.start(
            'fault.zombie',
            { url: server.url, holdMs: 120_000 },
            { actor: 'test' },
          )
        ).workId!,
      );
    await until(
      () =>
        held.every((id) =>
          server.on('/started').some((r) => r.body.workId === id && r.body.pid === c.child.pid),
        ),
      'worker c to be running all 10 works',
      20_000,
    );
    c.child.kill('SIGKILL');
    const killedAt = Date.now();

    const b = spawnWorker({ schema: db.schema, prefix, configPath: lease, name: 'worker-b' });
    workers.push(b);
    await workerStarted(b);
    const bStartedAt = Date.now();
    await until(
      async () => {
        const rows = await db.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY state`,
          [held],
        );
        if (rows.length === 1 && rows[0]!.state === 'COMPLETED') return true;
        throw new Error(
          `${JSON.stringify(rows)} ${JSON.stringify(await unfinished(held))} blocked: ${JSON.stringify(await blocked())} B: ${b.text.slice(-15).join('\n')}`,
        );
      },
      "C's 10 works to be recovered and completed by B while A is frozen",
      15_000,
      100,
    );
    const recoveredAfterMs = Date.now() - killedAt;
    // A is still frozen, its session still holding the lock.
    expect(a.child.signalCode).toBeNull();
    expect((await lockHolders(frozen)).length).toBeGreaterThan(0);
    console.log(
      `C's works completed ${recoveredAfterMs} ms after the kill, ${Date.now() - bStartedAt} ms after B started (lease 2 s)`,
    );

    // PostgreSQL ends A's idle transaction (25P03) and frees its lock; then A thaws.
    await until(
      async () => (await lockHolders(frozen)).length === 0,
      "PostgreSQL to end A's idle transaction",
      40_000,
      500,
    );
    a.child.kill('SIGCONT');
    const thawedAt = new Date();

    await until(
      async () => {
        const rows = await db.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY state`,
          [[...dozers, ...held]],
        );
        if (rows.length === 1 && rows[0]!.state === 'COMPLETED') return true;
        throw new Error(JSON.stringify(rows));
      },
      'every work to complete',
      60_000,
      250,
    );
    // A stays up after its connection was ended under it.
    await new Promise((r) => setTimeout(r, 1_000)); // time for a crash to show
    expect(a.child.exitCode).toBeNull();
    expect(a.text.join('\n')).not.toMatch(/Unhandled 'error' event/);

    // Nothing A wrote after the thaw landed on a work another worker had taken over
    // (a fresh claim after the thaw is A's own new lease, and what follows it is fine).
    const late = await db.query<{ workId: string; type: string }>(
      `SELECT e."workId", e.type FROM "WorkEvent" e
        WHERE e.actor = 'worker:worker-a' AND e.at >= $1 AND e.type <> 'claimed'
          AND EXISTS (SELECT 1 FROM "WorkEvent" x WHERE x."workId" = e."workId"
                       AND x.type = 'lease_expired' AND x.seq < e.seq)
          AND NOT EXISTS (SELECT 1 FROM "WorkEvent" y WHERE y."workId" = e."workId"
                       AND y.type = 'claimed' AND y.actor = 'worker:worker-a' AND y.seq < e.seq
                       AND y.at >= $1)`,
      [thawedAt],
    );
    expect(late).toEqual([]);
    // Each dozer ran every nap once: one step per sleep and the last step, all completed.
    const steps = await db.query<{ workId: string; n: number; done: number }>(
      `SELECT "workId", count(*)::int AS n, count(*) FILTER (WHERE status = 'completed')::int AS done
         FROM "Step" WHERE "workId" = ANY($1::uuid[]) GROUP BY "workId"`,
      [dozers],
    );
    expect(steps).toHaveLength(dozers.length);
    expect(steps.every((s) => s.n === 41 && s.done === 41)).toBe(true);
    const outputs = await db.query<{ output: unknown }>(
      'SELECT output FROM "Work" WHERE id = ANY($1::uuid[])',
      [held],
    );
    expect(outputs.every((o: any) => o.output.attempt === 2 && o.output.pid === b.child.pid)).toBe(
      true,
    );
  }, 180_000);
});
