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
 * A zombie: a worker frozen (SIGSTOP) past its lease while another worker takes the work
 * over and completes it. Thawed (SIGCONT), the zombie finishes its step and tries to
 * write: the fencing token it holds is stale, so nothing it writes lands.
 */
describe('a frozen worker past its lease', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('zombie');
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

  it('cannot write a step result or complete the work after another worker took it over', async () => {
    const configPath = writeWorkerConfig({ lease: '2s', reconcileEvery: '250ms' });
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);

    const control = ctx.get(EngineControl, { strict: false });
    const { workId } = await control.start(
      'fault.zombie',
      { url: server.url, holdMs: 3_000 },
      { actor: 'test' },
    );
    await until(() => server.on('/started').length === 1, 'worker a to start the step');
    // Frozen first: started before the freeze, worker b's start-up (seconds) could outlast
    // a's 3-second step, which would then complete the work itself.
    a.child.kill('SIGSTOP');

    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-b' });
    workers.push(b);
    await workerStarted(b);

    const work = async () =>
      (await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [workId]))[0];
    await until(
      async () => (await work()).state === 'COMPLETED',
      'worker b to complete the work',
      30_000,
    );
    const completed = await work();
    expect(completed.output).toEqual({ attempt: 2, pid: b.child.pid });
    const versionAfterB = completed.version;

    a.child.kill('SIGCONT');
    await a.waitForLog(
      (l) => l.workId === workId && l.msg === 'lease lost; this run stops without writing',
      'that its run lost the lease',
      15_000,
    );

    const after = await work();
    expect(after).toMatchObject({
      state: 'COMPLETED',
      version: versionAfterB,
      output: { attempt: 2, pid: b.child.pid },
    });
    const steps = await db.query<any>('SELECT * FROM "Step" WHERE "workId" = $1', [workId]);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({
      status: 'completed',
      attempt: 2,
      workerId: 'worker-b',
      output: { v: { attempt: 2, pid: b.child.pid } },
    });
    const timeline = await db.query<any>(
      'SELECT type, actor FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    expect(
      timeline.filter((t: any) => t.actor === 'worker:worker-a').map((t: any) => t.type),
    ).toEqual(['claimed']);
    expect(timeline.map((t: any) => t.type)).toContain('lease_expired');
  });
});
