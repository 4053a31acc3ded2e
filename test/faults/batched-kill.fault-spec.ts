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
 * kill -9 inside a `batched` run (docs/guarantees.md, "Durability modes"): the steps
 * whose batch committed are never run again; the ones not committed run again on the
 * next worker with the same idempotency keys, so a target that dedupes on the key
 * applies each effect once.
 */
describe('a worker killed in a batched run', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('batchkill');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const steps = (workId: string) =>
    db.query<any>('SELECT * FROM "Step" WHERE "workId" = $1 ORDER BY seq', [workId]);

  it('re-runs the uncommitted steps with the same keys, and never the committed ones', async () => {
    const configPath = writeWorkerConfig({ lease: '2s', reconcileEvery: '250ms' });
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);

    const control = ctx.get(EngineControl, { strict: false });
    const started = await control.start(
      'fault.batched',
      { url: server.url, hangPid: a.child.pid },
      { actor: 'test' },
    );
    const workId = started.workId!;
    const effects = () => server.on('/effect').filter((e) => e.body.workId === workId);
    await until(
      () => effects().some((e) => e.body.step === 3),
      "the third step's effect on worker a",
    );
    // s1 and s2 filled a batch (maxSteps 2): committed while s3 runs. s3 is not.
    const committed = await until(async () => {
      const rows = await steps(workId);
      return rows.length === 2 ? rows : null;
    }, 'the first batch committed');
    expect(committed.map((s: any) => s.name)).toEqual(['s1', 's2']);
    const keyOnA = effects().find((e) => e.body.step === 3)!.headers['idempotency-key'];
    a.child.kill('SIGKILL');
    await a.exited;

    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-b' });
    workers.push(b);
    await until(
      async () =>
        (await db.query<any>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]?.state ===
        'COMPLETED',
      'the work to complete on worker b',
      30_000,
    );

    const byStep = (i: number) => effects().filter((e) => e.body.step === i);
    expect(byStep(1)).toHaveLength(1); // committed: never run again
    expect(byStep(2)).toHaveLength(1);
    expect(byStep(3)).toHaveLength(2); // uncommitted: run again…
    expect(new Set(byStep(3).map((e) => e.headers['idempotency-key']))).toEqual(
      new Set([keyOnA]), // …with the same key
    );
    expect(byStep(4)).toHaveLength(1);
    expect(byStep(3).map((e) => e.body.attempt)).toEqual([1, 1]); // no trace: attempt 1 again

    const rows = await steps(workId);
    expect(rows.map((s: any) => [s.name, s.status])).toEqual([
      ['s1', 'completed'],
      ['s2', 'completed'],
      ['s3', 'completed'],
      ['s4', 'completed'],
    ]);
    expect(rows[0].workerId).toBe('worker-a');
    expect(rows[2]).toMatchObject({ workerId: 'worker-b', idempotencyKey: keyOnA });
    const [work] = await db.query<any>('SELECT output FROM "Work" WHERE id = $1', [workId]);
    expect(work.output).toEqual([1, 2, 3, 4]);
  });
});
