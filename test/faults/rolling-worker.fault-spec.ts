import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { freePort } from '@test/disposable-services';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { type Answer, LoopbackServer } from '@test/loopback-server';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/** The lease: far longer than any wait below, so only a release explains a fast takeover. */
const LEASE_MS = 30_000;

interface Effect {
  workId: string;
  step: number;
  attempt: number;
  pid: number;
}

/**
 * A rolling restart of a worker (issue 16, item 5): SIGTERM while its runs are inside a
 * step, with a second worker alive. The runs stop at a step boundary (or are released
 * when their step never ends), their works go back on the queue at once and complete on
 * the other worker, long before the 30 s lease could have run out.
 */
describe('a worker stopped by SIGTERM mid-run', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];
  /** Gate requests held until the test opens the gate for the process that sent them. */
  const held: Array<{ effect: Effect; answer: (a: Answer) => void }> = [];
  let openFor: (pid: number) => boolean = () => false;

  beforeAll(async () => {
    db = await createTestSchema('rolling_worker');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    server.respond = (req) => {
      if (req.path !== '/gate' || openFor((req.body as Effect).pid)) return { status: 200 };
      return new Promise<Answer>((answer) => held.push({ effect: req.body as Effect, answer }));
    };
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  /** Starts worker A alone, `n` gated works of 3 steps on it, waits for their first step, then starts B. */
  async function runOnA(n: number, shutdownGrace: string) {
    const healthPort = await freePort();
    const configPath = writeWorkerConfig({
      lease: `${LEASE_MS / 1000}s`,
      reconcileEvery: '250ms',
      concurrency: 4,
      extra: `server:\n  shutdownGrace: ${shutdownGrace}`,
    });
    const a = spawnWorker({
      schema: db.schema,
      prefix,
      configPath,
      name: 'worker-a',
      env: { WORKGATE_WORKER_HEALTH_PORT: String(healthPort) },
    });
    workers.push(a);
    await workerStarted(a);
    const control = ctx.get(EngineControl, { strict: false });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const { workId } = await control.start(
        'fault.gated',
        { url: server.url, steps: 3 },
        { actor: 'test' },
      );
      ids.push(workId!);
    }
    await until(() => held.length === n, `the ${n} first steps to be held at the gate on worker a`);
    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-b' });
    workers.push(b);
    await workerStarted(b);
    return { a, b, ids, health: `http://127.0.0.1:${healthPort}/health` };
  }

  const probe = (url: string) =>
    fetch(url, { signal: AbortSignal.timeout(3_000) }).then(
      (r) => r.status,
      () => 0,
    );

  async function allCompleted(ids: string[]) {
    await until(
      async () =>
        (
          await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "Work" WHERE id = ANY($1) AND state = 'COMPLETED'`,
            [ids],
          )
        )[0]!.n === ids.length,
      // Under the lease: a takeover by lease expiry could not have made it.
      `the ${ids.length} works to complete on worker b`,
      LEASE_MS - 5_000,
    );
  }

  /** Each work: claimed by a, released by a, claimed by b before a's lease could expire; never swept. */
  async function expectReleasedNotSwept(ids: string[]) {
    for (const id of ids) {
      const events = await db.query<{ type: string; actor: string; at: Date }>(
        `SELECT type, actor, at FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq`,
        [id],
      );
      const claims = events.filter((e) => e.type === 'claimed');
      expect(claims.map((e) => e.actor)).toEqual(['worker:worker-a', 'worker:worker-b']);
      expect(events.find((e) => e.type === 'released')?.actor).toBe('worker:worker-a');
      expect(events.some((e) => e.type === 'lease_expired')).toBe(false);
      expect(claims[1]!.at.getTime() - claims[0]!.at.getTime()).toBeLessThan(LEASE_MS);
    }
  }

  it('lets the runs finish their step, releases them, and the works complete on the other worker with each step run once', async () => {
    const { a, b, ids, health } = await runOnA(4, '20s');
    expect(await probe(`${health}/ready`)).toBe(200);

    a.child.kill('SIGTERM');
    // Its steps are held at the gate, so it is draining until the test opens it.
    await until(async () => (await probe(`${health}/ready`)) === 503, 'a to answer 503 on ready');
    expect(await probe(`${health}/live`)).toBe(200);

    openFor = () => true;
    for (const h of held.splice(0)) h.answer({ status: 200 });
    expect(await a.exited).toEqual({ code: 0, signal: null });
    await allCompleted(ids);
    await expectReleasedNotSwept(ids);
    expect(a.logs.find((l) => l.msg === 'worker drained')).toMatchObject({
      atBoundary: 4,
      afterAbort: 0,
      forced: 0,
    });

    // Every step's side effect was applied once: step 1 on a (it finished there), 2 and 3 on b.
    const effects = server.on('/effect').filter((e) => ids.includes((e.body as Effect).workId));
    expect(effects).toHaveLength(ids.length * 3);
    expect(server.keys('/effect').size).toBe(ids.length * 3);
    for (const e of effects.map((r) => r.body as Effect)) {
      expect(e.attempt).toBe(1);
      expect(e.pid).toBe(e.step === 1 ? a.child.pid : b.child.pid);
    }
    const steps = await db.query<{ attempts: number; n: number }>(
      `SELECT max(attempt)::int AS attempts, count(*)::int AS n FROM "Step" WHERE "workId" = ANY($1)`,
      [ids],
    );
    expect(steps[0]).toEqual({ attempts: 1, n: ids.length * 3 });
  });

  it('releases runs whose step ignores its abort signal before the grace runs out; the step runs again on the other worker with its key', async () => {
    for (const w of workers.splice(0)) await w.stop('SIGKILL');
    held.splice(0);
    openFor = () => false;
    const { a, b, ids } = await runOnA(2, '8s');
    // Worker a's gate never opens: its first steps never end, whatever it is told.
    openFor = (pid) => pid === b.child.pid;

    a.child.kill('SIGTERM');
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.logs.find((l) => l.msg === 'worker drained')).toMatchObject({
      atBoundary: 0,
      afterAbort: 0,
      forced: 2,
    });
    await allCompleted(ids);
    await expectReleasedNotSwept(ids);

    // Step 1 ran again on b with the same idempotency key (applied once); the others once, on b.
    const effects = server
      .on('/effect')
      .filter((e) => ids.includes((e.body as Effect).workId))
      .map((r) => ({ ...(r.body as Effect), key: String(r.headers['idempotency-key']) }));
    const firsts = effects.filter((e) => e.step === 1);
    expect(firsts.map((e) => [e.pid, e.attempt]).sort()).toEqual(
      [
        [a.child.pid, 1],
        [a.child.pid, 1],
        [b.child.pid, 2],
        [b.child.pid, 2],
      ].sort(),
    );
    expect(new Set(effects.map((e) => e.key)).size).toBe(ids.length * 3);
    expect(effects.filter((e) => e.step > 1).every((e) => e.pid === b.child.pid)).toBe(true);
  });
});
