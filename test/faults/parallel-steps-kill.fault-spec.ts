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
 * kill -9 in the middle of a Promise.all of steps (only the worker process: PostgreSQL
 * and Redis are untouched). Another worker finishes the work; a step's body runs again
 * only if its completion was not recorded, and never more than twice.
 */
describe('a worker killed in the middle of parallel steps', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('parkill');
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

  it('re-runs only the steps not recorded as completed, each at most twice', async () => {
    const steps = 15;
    const configPath = writeWorkerConfig({ lease: '2s', reconcileEvery: '250ms' });
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);

    const control = ctx.get(EngineControl, { strict: false });
    const { workId } = await control.start(
      'fault.parallel',
      { url: server.url, steps, stepMs: 150 },
      { actor: 'test' },
    );
    const spans = () =>
      server
        .on('/span')
        .map((r) => r.body as { step: number; phase: string; pid: number; attempt: number });
    // Some steps are recorded as completed, the rest are mid-flight.
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "Step" WHERE "workId" = $1 AND status = 'completed'`,
            [workId],
          )
        )[0]!.n >= 4,
      'four of the parallel steps to be recorded on worker a',
    );
    a.child.kill('SIGKILL');
    await a.exited;
    const atKill = await db.query<{ name: string; status: string }>(
      'SELECT name, status FROM "Step" WHERE "workId" = $1',
      [workId],
    );
    const completedAtKill = new Set(
      atKill.filter((s) => s.status === 'completed').map((s) => s.name),
    );
    expect(completedAtKill.size).toBeGreaterThan(0);
    expect(completedAtKill.size).toBeLessThan(steps);

    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-b' });
    workers.push(b);
    await until(
      async () =>
        (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]
          ?.state === 'COMPLETED',
      'the work to complete on worker b',
      30_000,
    );

    const [work] = await db.query<{
      output: { results: Array<{ step: number; attempt: number; pid: number }>; after: number };
    }>('SELECT output FROM "Work" WHERE id = $1', [workId]);
    const rows = await db.query<{
      name: string;
      status: string;
      attempt: number;
      output: { v: unknown };
    }>('SELECT name, status, attempt, output FROM "Step" WHERE "workId" = $1 ORDER BY seq', [
      workId,
    ]);
    expect(rows.map((r) => [r.name, r.status])).toEqual([
      ...Array.from({ length: steps }, (_, i) => [`p${i}`, 'completed']),
      ['after', 'completed'],
    ]);
    expect(work!.output.after).toBe(steps);
    for (let i = 0; i < steps; i++) {
      const starts = spans().filter((s) => s.step === i && s.phase === 'start');
      expect(starts.length).toBeGreaterThanOrEqual(1);
      expect(starts.length).toBeLessThanOrEqual(2);
      // Run again (on worker b) only when its completion had not been recorded.
      if (starts.length === 2) expect(completedAtKill.has(`p${i}`)).toBe(false);
      if (completedAtKill.has(`p${i}`)) expect(starts).toHaveLength(1);
      // The recorded result is the one the work returned, from the run that recorded it.
      expect(rows[i]!.output.v).toEqual(work!.output.results[i]);
      expect(rows[i]!.attempt).toBe(work!.output.results[i]!.attempt);
      expect(starts.at(-1)!.attempt).toBe(rows[i]!.attempt);
    }
    // One idempotency key per step, however many times it ran.
    expect(server.keys('/span').size).toBe(steps);
  });
});
