import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { LoopbackServer } from '@test/loopback-server';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { startPostgres, startRedis, stopPostgres, stopRedis } from '@test/services';
import { until } from '@test/until';

/**
 * Redis restarted (it keeps nothing on disk here, so it comes back empty) and then
 * PostgreSQL restarted, while works are running steps and sleeping: once both are back,
 * every work completes and nothing acknowledged is lost. Both are left running.
 */
describe('Redis and PostgreSQL restarted during runs', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    db = await createTestSchema('restarts');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    await startRedis();
    await startPostgres();
    await worker?.stop('SIGKILL');
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('completes every work once both are back', async () => {
    worker = spawnWorker({
      schema: db.schema,
      prefix,
      configPath: writeWorkerConfig({ lease: '2s', reconcileEvery: '300ms' }),
      name: 'worker-r',
    });
    await workerStarted(worker);
    const control = ctx.get(EngineControl, { strict: false });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(
        (
          await control.start(
            'fault.reporter',
            { url: server.url, steps: 3, stepMs: 150 },
            { actor: 'test' },
          )
        ).workId!,
      );
      ids.push(
        (await control.start('fault.napper', { ms: 1_500 + i * 100 }, { actor: 'test' })).workId!,
      );
    }
    await until(() => server.on('/span').length >= 5, 'some steps to be under way');

    stopRedis();
    await until(
      async () =>
        (await db.query<any>(`SELECT count(*)::int AS n FROM "Work" WHERE state = 'WAITING'`))[0]
          .n > 0,
      'works to sleep while Redis is down',
      15_000,
    );
    await startRedis();

    stopPostgres();
    await new Promise((r) => setTimeout(r, 1_000)); // an outage, not a condition to wait for
    await startPostgres();

    await until(
      async () => {
        const states = await db.query<any>(
          `SELECT kind, state, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY kind, state`,
          [ids],
        );
        if (states.length === 2 && states.every((s: any) => s.state === 'COMPLETED')) return true;
        // Thrown, so a timeout says where the works are stuck.
        throw new Error(JSON.stringify(states));
      },
      'all 20 works to complete',
      90_000,
      250,
    );
    const works = await db.query<any>(
      'SELECT kind, output FROM "Work" WHERE id = ANY($1::uuid[])',
      [ids],
    );
    expect(
      works
        .filter((w: any) => w.kind === 'fault.reporter')
        .every((w: any) => JSON.stringify(w.output) === JSON.stringify({ done: [1, 2, 3] })),
    ).toBe(true);
    expect(
      works
        .filter((w: any) => w.kind === 'fault.napper')
        .every((w: any) => typeof w.output.napped === 'number'),
    ).toBe(true);
    expect(worker.child.exitCode).toBeNull(); // the worker survived both outages
  });
});
