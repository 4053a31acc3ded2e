import { Redis } from 'ioredis';
import { defineWorkflow } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_REDIS_URL } from '@test/env';
import { testConfig } from '@test/gateway';
import { type Answer, LoopbackServer } from '@test/loopback-server';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const notify = defineWorkflow('retryrace.notify', async (ctx, input: { target: string }) => {
  await ctx.send({ channel: 'http', target: input.target }, { text: 'hi' });
  return 'sent';
});

/**
 * The reconciler's full pass (Redis lost its queues) queues every pending outbox row's
 * next attempt at the row's nextAttemptAt — for a row an attempt holds, that attempt's
 * deadline (60 s). When the attempt then fails, its retry (100 ms) has the same job id:
 * it must move that job, not be deduped onto it. CI once waited out a deadline here
 * (the outbox test's first delivery raced the worker's first, full, pass).
 */
describe('an outbox retry racing the reconciler rebuilding the queues', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let worker: TestWorker;
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestSchema('retryrace');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    redis = new Redis(TEST_REDIS_URL);
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { reconcileEvery: '1h' },
          outbound: {
            retryDelay: '100ms',
            maxRetryDelay: '100ms',
            maxAttempts: 3,
            attemptDeadline: '60s',
          },
        },
      }),
      [notify],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await server?.stop();
    redis?.disconnect();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const outboxOf = (workId: string) =>
    db.query<{ status: string; attempts: number }>(
      'SELECT status, attempts FROM "Outbox" WHERE "workId" = $1',
      [workId],
    );

  it('retries at its backoff, not at the deadline of the attempt the full pass saw', async () => {
    let release!: (answer: Answer) => void;
    server.respond = () =>
      server.received.length === 1
        ? new Promise<Answer>((resolve) => (release = resolve))
        : { status: 200, body: { ok: true } };
    const { workId } = await worker.control.start(
      notify.name,
      { target: `${server.url}/hook` },
      { actor: 'test' },
    );
    await until(async () => server.received.length === 1, 'the first attempt to reach us');
    // The first attempt holds the row; a full pass now (the marker gone, as after a
    // Redis that lost its data) queues attempt 2 at the first one's deadline.
    await redis.del(`${prefix}:reconciler:epoch`);
    const report = await worker.reconciler.reconcile();
    expect(report).toMatchObject({ full: true, outboxEnqueued: 1 });
    release({ status: 503, body: { error: 'try again' } });
    await until(
      async () => (await outboxOf(workId!))[0]?.status === 'sent',
      'the retry to be delivered at its backoff (not 60 s later)',
      10_000,
    );
    expect(await outboxOf(workId!)).toEqual([{ status: 'sent', attempts: 2 }]);
    expect(server.received).toHaveLength(2);
  });
});
