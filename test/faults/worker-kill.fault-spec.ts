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
 * kill -9 in the middle of a step, after its side effect and before its checkpoint:
 * another worker takes over once the lease expires, the step runs again with the same
 * idempotency key, the effect is applied once, and the work completes.
 */
describe('a worker killed mid-step', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('kill');
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

  it('re-runs the step with the same idempotency key on another worker; the effect applies once', async () => {
    const configPath = writeWorkerConfig({ lease: '2s', reconcileEvery: '250ms' });
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);

    const control = ctx.get(EngineControl, { strict: false });
    const started = await control.start(
      'fault.side-effect',
      { url: server.url, hang: true },
      { actor: 'test' },
    );
    const workId = started.workId!;
    await until(() => server.on('/effect').length === 1, 'the side effect of the first attempt');
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

    const effects = server.on('/effect');
    expect(effects).toHaveLength(2); // the effect was attempted twice…
    expect(server.keys('/effect').size).toBe(1); // …with one idempotency key: applied once
    expect(effects.map((e) => e.body.attempt)).toEqual([1, 2]);

    const [work] = await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [workId]);
    expect(work.output.applied.attempt).toBe(2);
    expect(work.attempt).toBe(2); // the lost lease used up an attempt
    const [step] = await db.query<any>(
      `SELECT * FROM "Step" WHERE "workId" = $1 AND name = 'effect'`,
      [workId],
    );
    expect(step).toMatchObject({ status: 'completed', attempt: 2, workerId: 'worker-b' });
    const timeline = await db.query<any>(
      'SELECT type, actor FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    const types = timeline.map((t: any) => t.type);
    expect(types).toEqual(expect.arrayContaining(['claimed', 'lease_expired', 'completed']));
    expect(types.indexOf('lease_expired')).toBeLessThan(types.lastIndexOf('claimed'));
    expect(timeline.find((t: any) => t.type === 'lease_expired').actor).toBe('reconciler');
  });
});
