import { defineWorkflow, WorkerShutdown, WorkRunner } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { gate, ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { startWorker, type TestWorker } from '@test/worker';

/** Held by the test: the first attempt of step `one` waits here and ignores its abort signal. */
let stuck = gate<string>();
let reachedStuck = gate();

const drainable = defineWorkflow('drain.stuck', async (ctx) => {
  const one = await ctx.step('one', async ({ attempt }) => {
    if (attempt > 1) return 'fresh';
    reachedStuck.open();
    return stuck.promise;
  });
  const two = await ctx.step('two', () => 'done');
  return { one, two };
});

/**
 * The last resort of a worker's drain (WorkerShutdown): a run whose step ignores its
 * abort signal is released from outside. The release is fenced like every run write,
 * so when that step finally returns, its checkpoint is refused: the work, taken over by
 * another worker at once, keeps that worker's results.
 */
describe(WorkerShutdown.name, () => {
  let db: TestSchema;
  let prefix: string;
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    db = await createTestSchema('worker_drain');
    prefix = testQueuePrefix();
  });

  afterAll(async () => {
    stuck.open('late');
    for (const w of workers) await w.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const start = (name: string) =>
    startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        env: { WORKER_ID: name },
        // A lease far longer than the test: only the release can hand the work over.
        overrides: {
          server: { shutdownGrace: '800ms' },
          worker: { lease: '60s', reconcileEvery: '200ms', concurrency: 2 },
        },
      }),
      [drainable],
    ).then((w) => (workers.push(w), w));

  it('releases a run whose step never ends; its late checkpoint is refused', async () => {
    stuck = gate<string>();
    reachedStuck = gate();
    const a = await start('worker-a');
    const { workId } = await a.control.start('drain.stuck', {}, { actor: 'test' });
    await reachedStuck.promise;
    await start('worker-b');

    // What app.close() runs first on SIGTERM, without closing a's pools: the late write
    // below then reaches PostgreSQL and is refused there, not by a closed pool.
    await a.app.get(WorkerShutdown).beforeApplicationShutdown();
    const ledger = ledgerOf(db);
    const done = await ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toEqual({ one: 'fresh', two: 'done' });

    // Now the stuck step returns on worker a, and its run tries to checkpoint it.
    stuck.open('late');
    // Waits for a's runs to end (the late one included): none had to be cut short.
    const ended = await a.app.get(WorkRunner).drain(10_000, 0);
    expect(ended).toMatchObject({ afterAbort: 0, forced: 0 });

    const steps = await ledger.steps(workId!);
    expect(steps.map((s) => [s.name, s.status, s.attempt, s.output, s.workerId])).toEqual([
      ['one', 'completed', 2, { v: 'fresh' }, 'worker-b'],
      ['two', 'completed', 1, { v: 'done' }, 'worker-b'],
    ]);
    const timeline = await ledger.timeline(workId!);
    expect(timeline.map((e) => [e.type, e.actor])).toEqual(
      expect.arrayContaining([
        ['claimed', 'worker:worker-a'],
        ['released', 'worker:worker-a'],
        ['claimed', 'worker:worker-b'],
        ['completed', 'worker:worker-b'],
      ]),
    );
    expect(timeline.some((e) => e.type === 'lease_expired')).toBe(false);
    expect((await ledger.work(workId!)).output).toEqual({ one: 'fresh', two: 'done' });
  });
});
