import { type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_REDIS_URL } from '@test/env';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { LoopbackServer } from '@test/loopback-server';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/**
 * FLUSHALL while works are QUEUED, WAITING on timers, and with outbox rows pending:
 * Redis is transport, so the reconciler rebuilds every job from the ledger. All works
 * complete, no timer is lost, and no message is sent twice.
 */
describe('Redis wiped (FLUSHALL)', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let ctx: INestApplicationContext;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    db = await createTestSchema('flushall');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await ctx?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('loses no work, no timer and sends no message twice', async () => {
    const configPath = writeWorkerConfig({ lease: '2s', reconcileEvery: '300ms' });
    const control = ctx.get(EngineControl, { strict: false });
    const count = async (sql: string) => (await db.query<any>(sql))[0].n as number;

    // 1. Sleepers: WAITING on timers 4–6 s away, whose send will meet a receiver that is down.
    server.respond = (req) => (req.path === '/message' ? { status: 503 } : { status: 200 });
    worker = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-1' });
    await workerStarted(worker);
    const sleepers: string[] = [];
    for (let i = 0; i < 8; i++)
      sleepers.push(
        (
          await control.start(
            'fault.sleeper',
            { url: server.url, ms: 4_000 + i * 250 },
            { actor: 'test' },
          )
        ).workId!,
      );
    // 2. Senders whose messages are already pending (the receiver answers 503, retries are scheduled in Redis).
    const senders: string[] = [];
    for (let i = 0; i < 5; i++)
      senders.push(
        (await control.start('fault.sleeper', { url: server.url, ms: 0 }, { actor: 'test' }))
          .workId!,
      );
    await until(
      async () =>
        (await count(`SELECT count(*)::int AS n FROM "Work" WHERE state = 'WAITING'`)) === 8,
      'eight works waiting on their timers',
    );
    await until(() => server.on('/message').length >= 5, 'the first delivery attempts to fail');

    // 3. Stop the worker, queue more works (their jobs are in Redis only), then wipe Redis.
    await worker.stop('SIGTERM');
    const queued: string[] = [];
    for (let i = 0; i < 6; i++)
      queued.push((await control.start('fault.quick', {}, { actor: 'test' })).workId!);
    expect(await count(`SELECT count(*)::int AS n FROM "Outbox" WHERE status = 'pending'`)).toBe(5);
    const redis = new Redis(TEST_REDIS_URL);
    await redis.flushall();
    redis.disconnect();
    server.respond = () => ({ status: 200 });

    // 4. A new worker finds an empty Redis; the reconciler rebuilds from the ledger.
    worker = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-2' });
    const all = [...sleepers, ...senders, ...queued];
    await until(
      async () =>
        (
          await db.query<any>(
            `SELECT count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) AND state = 'COMPLETED'`,
            [all],
          )
        )[0].n === all.length,
      'every work to complete after the wipe',
      60_000,
    );
    await until(
      async () =>
        (await count(`SELECT count(*)::int AS n FROM "Outbox" WHERE status = 'sent'`)) === 13,
      'all 13 messages to be delivered',
    );

    // No timer fired early, none was lost; each message reached the receiver once with 200.
    const timers = await db.query<any>(
      `SELECT w."timeoutAt", e.at FROM "Wait" w JOIN "WorkEvent" e ON e."workId" = w."workId" AND e.type = 'timer_fired' WHERE w.type = 'timer' AND w."workId" = ANY($1::uuid[])`,
      [sleepers],
    );
    expect(timers).toHaveLength(8);
    for (const t of timers) expect(t.at.getTime()).toBeGreaterThanOrEqual(t.timeoutAt.getTime());
    const delivered = server.on('/message').filter((r) => r.at >= 0);
    const okByKey = new Map<string, number>();
    for (const r of delivered)
      okByKey.set(
        String(r.headers['idempotency-key']),
        (okByKey.get(String(r.headers['idempotency-key'])) ?? 0) + 1,
      );
    expect(okByKey.size).toBe(13);
    const rows = await db.query<any>(`SELECT "idempotencyKey", attempts FROM "Outbox"`);
    expect(rows).toHaveLength(13);
    // Successful deliveries (the last attempt of each row) are one per key.
    const successes = server.received.filter((r) => r.path === '/message' && r.status === 200);
    expect(new Set(successes.map((r) => r.headers['idempotency-key'])).size).toBe(successes.length);
    expect(successes).toHaveLength(13);
  });
});
