import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { LoopbackServer } from '@test/loopback-server';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { startPostgres, stopPostgres } from '@test/services';
import { until } from '@test/until';

/**
 * PostgreSQL crashing (`pg_ctl stop -m immediate`, then start) again and again while a
 * worker runs many works: connections checked out of the pool (a run's transaction,
 * Prisma's adapter, a step statement) see ECONNRESET / "Connection terminated
 * unexpectedly". The worker rides it out — it never exits — and every work completes.
 */
describe('PostgreSQL crashing under a loaded worker', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    db = await createTestSchema('pgcrash');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    await startPostgres();
    await worker?.stop('SIGKILL');
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('keeps the worker alive through repeated immediate restarts and completes every work', async () => {
    worker = spawnWorker({
      schema: db.schema,
      prefix,
      configPath: writeWorkerConfig({ lease: '2s', reconcileEvery: '300ms', concurrency: 16 }),
      name: 'worker-pg',
    });
    await workerStarted(worker);
    const control = ctx.get(EngineControl, { strict: false });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++)
      ids.push(
        (
          await control.start(
            'fault.reporter',
            { url: server.url, steps: 6, stepMs: 20 },
            { actor: 'test' },
          )
        ).workId!,
      );

    for (let round = 0; round < 4; round++) {
      const spans = server.on('/span').length;
      await until(() => server.on('/span').length >= spans + 20, 'steps to be under way');
      stopPostgres('immediate');
      await new Promise((r) => setTimeout(r, 300)); // an outage, not a condition to wait for
      await startPostgres();
      expect({ round, exit: worker.child.exitCode, signal: worker.child.signalCode }).toEqual({
        round,
        exit: null,
        signal: null,
      });
      // More works arrive while the worker is catching up.
      for (let i = 0; i < 10; i++)
        ids.push(
          (
            await control.start(
              'fault.reporter',
              { url: server.url, steps: 6, stepMs: 20 },
              { actor: 'test' },
            )
          ).workId!,
        );
    }

    await until(
      async () => {
        const states = await db.query<any>(
          `SELECT state, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY state`,
          [ids],
        );
        if (states.length === 1 && states[0].state === 'COMPLETED') return true;
        if (worker!.child.exitCode !== null)
          throw new Error(`the worker exited: ${worker!.text.slice(-10).join(' | ')}`);
        throw new Error(JSON.stringify(states));
      },
      `all ${ids.length} works to complete`,
      60_000,
      250,
    );
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.signalCode).toBeNull();
  }, 150_000);
});
