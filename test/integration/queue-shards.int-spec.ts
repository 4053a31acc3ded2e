import { type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { defineWorkflow, EngineControl, ShardedQueues } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { TEST_REDIS_URL } from '@test/env';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

/** Each run: a step, `naps` timers, a last step; every step's executions are counted. */
const executions = new Map<string, number>();
const napper = defineWorkflow('shards.napper', async (ctx, input: { naps: number; ms: number }) => {
  const count = (name: string) => () => {
    const key = `${ctx.workId}:${name}`;
    executions.set(key, (executions.get(key) ?? 0) + 1);
    return name;
  };
  await ctx.step('first', count('first'));
  for (let i = 0; i < input.naps; i++) await ctx.sleep(input.ms);
  return ctx.step('last', count('last'));
});

/**
 * `queues.shards` splits work, wake and outbox into N BullMQ queues by a hash of the id
 * a job is about, and every worker consumes every shard. The ledger is the truth, so a
 * change of N between two worker generations strands jobs in shards nobody consumes
 * any more, and the reconciler gives those works and timers their jobs in the new
 * shards: nothing is lost (docs/scaling.md, "Changing the shard count").
 */
describe('queue shards', () => {
  let db: TestSchema;
  let prefix: string;
  let redis: Redis;
  const workers: TestWorker[] = [];
  const contexts: INestApplicationContext[] = [];

  const config = (shards: number) =>
    testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        queues: { shards },
        worker: { lease: '2s', reconcileEvery: '250ms', concurrency: 4 },
      },
    });

  /** How many jobs were ever added to a BullMQ queue (its event stream's `added` entries). */
  async function added(queueName: string): Promise<number> {
    const entries = await redis.xrange(`${prefix}:${queueName}:events`, '-', '+');
    return entries.filter(([, fields]) => fields[1] === 'added').length;
  }

  beforeAll(async () => {
    db = await createTestSchema('qshards');
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  beforeEach(() => {
    prefix = testQueuePrefix();
  });

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
    for (const c of contexts.splice(0)) await c.close();
    await deleteKeys(prefix);
  });

  afterAll(async () => {
    redis?.disconnect();
    await db?.drop();
  });

  it('spreads the jobs of three shards by work id and runs each step once', async () => {
    const worker = await startWorker(config(3), [napper]);
    workers.push(worker);
    const queues = worker.app.get(ShardedQueues);
    expect(queues.names('work')).toEqual(['work', 'work-1', 'work-2']);

    const ids: string[] = [];
    for (let i = 0; i < 24; i++)
      ids.push(
        (await worker.control.start('shards.napper', { naps: 1, ms: 50 }, { actor: 'test' }))
          .workId!,
      );
    const ledger = ledgerOf(db);
    for (const id of ids) await ledger.untilState(id, 'COMPLETED', 30_000);

    for (const id of ids) {
      expect(executions.get(`${id}:first`)).toBe(1);
      expect(executions.get(`${id}:last`)).toBe(1);
    }
    // Every shard of work and wake carried jobs: the runs and the timers of 24 works.
    for (const name of [...queues.names('work'), ...queues.names('wake')])
      expect(await added(name)).toBeGreaterThan(0);
    // The shard a work's jobs go to is the one its id hashes to.
    const counts = await Promise.all(queues.names('work').map(added));
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(ids.length);
  });

  it('loses nothing when the shard count goes from 3 to 2 between worker generations', async () => {
    const ledger = ledgerOf(db);
    // Generation 1 (3 shards) takes works up to their timers and stops.
    const first = await startWorker(config(3), [napper]);
    workers.push(first);
    const sleeping: string[] = [];
    for (let i = 0; i < 12; i++)
      sleeping.push(
        (await first.control.start('shards.napper', { naps: 2, ms: 1_500 }, { actor: 'test' }))
          .workId!,
      );
    for (const id of sleeping) await ledger.untilState(id, 'WAITING', 20_000);
    await first.close();
    workers.splice(workers.indexOf(first), 1);

    // While no worker runs, a 3-shard producer (a gateway not yet restarted) opens more.
    const producer = await createLedgerContext(config(3));
    contexts.push(producer);
    const control = producer.get(EngineControl, { strict: false });
    const queued: string[] = [];
    for (let i = 0; i < 12; i++)
      queued.push(
        (await control.start('shards.napper', { naps: 1, ms: 100 }, { actor: 'test' })).workId!,
      );
    const stranded = producer.get(ShardedQueues, { strict: false });
    const inThirdShard = async () =>
      (await stranded.all('work')[2]!.getWaitingCount()) +
      (await stranded.all('wake')[2]!.getDelayedCount());
    // The test means something only if the shard the next generation drops holds jobs.
    expect(await inThirdShard()).toBeGreaterThan(0);

    // Generation 2 consumes two shards: works and timers of the third are the ledger's to repair.
    const second = await startWorker(config(2), [napper]);
    workers.push(second);
    for (const id of [...sleeping, ...queued]) await ledger.untilState(id, 'COMPLETED', 45_000);
    for (const id of [...sleeping, ...queued]) {
      expect(executions.get(`${id}:first`)).toBe(1);
      expect(executions.get(`${id}:last`)).toBe(1);
    }
    // Nothing generation 2 consumes is left behind.
    await until(
      async () => {
        const queues = second.app.get(ShardedQueues);
        const left = await Promise.all(
          queues.everything().map((q) => q.getJobCounts('waiting', 'active', 'delayed')),
        );
        return left.every((c) => (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0);
      },
      'the two remaining shards to be empty',
      15_000,
    );
  });
});
