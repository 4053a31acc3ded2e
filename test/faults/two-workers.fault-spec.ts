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

/** Two worker processes share the load, and no work ever runs on both at once. */
describe('two workers', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('two');
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

  it('share 40 works of 3 steps each without ever running one work in two places', async () => {
    const configPath = writeWorkerConfig({ lease: '5s', reconcileEvery: '250ms', concurrency: 4 });
    for (const name of ['worker-a', 'worker-b']) {
      const w = spawnWorker({ schema: db.schema, prefix, configPath, name });
      workers.push(w);
    }
    await Promise.all(workers.map(workerStarted));

    const control = ctx.get(EngineControl, { strict: false });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { workId } = await control.start(
        'fault.reporter',
        { url: server.url, steps: 3, stepMs: 20 },
        { actor: 'test' },
      );
      ids.push(workId!);
    }
    await until(
      async () =>
        (await db.query<any>(`SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED'`))[0]
          .n === 40,
      'all 40 works to complete',
      60_000,
    );

    // Every step ran exactly once (no retries were needed), and in order within its work.
    const spans = server.on('/span').map((r) => r.body);
    const byPid = new Map<number, number>();
    for (const id of ids) {
      const mine = spans.filter((s) => s.workId === id).sort((x, y) => x.at - y.at);
      // In time order, each step starts once and ends before the next starts: a second run
      // of the same work anywhere would show as a repeated or interleaved start.
      expect(mine.map((s) => `${s.step}:${s.phase}`)).toEqual([
        '1:start',
        '1:end',
        '2:start',
        '2:end',
        '3:start',
        '3:end',
      ]);
      expect(new Set(mine.map((s) => s.pid)).size).toBe(1);
      for (const s of mine) byPid.set(s.pid, (byPid.get(s.pid) ?? 0) + 1);
    }
    const pids = workers.map((w) => w.child.pid!);
    expect([...byPid.keys()].sort()).toEqual([...pids].sort());
    for (const pid of pids) expect(byPid.get(pid)).toBeGreaterThan(0);

    // The ledger agrees: each work was claimed exactly once, by one worker, and its steps ran on it.
    const claims = await db.query<any>(
      `SELECT "workId", count(*)::int AS n FROM "WorkEvent" WHERE type = 'claimed' GROUP BY "workId"`,
    );
    expect(claims).toHaveLength(40);
    expect(claims.every((c: any) => c.n === 1)).toBe(true);
    const steps = await db.query<any>(
      `SELECT "workId", count(DISTINCT "workerId")::int AS workers, max(attempt)::int AS attempts FROM "Step" GROUP BY "workId"`,
    );
    expect(steps).toHaveLength(40);
    expect(steps.every((s: any) => s.workers === 1 && s.attempts === 1)).toBe(true);
  });
});
