import { createTestSchema, type TestSchema } from '@test/db';
import { type DisposableRedis, startDisposableRedis } from '@test/disposable-services';
import { startGateway, testConfig } from '@test/gateway';
import { testQueuePrefix } from '@test/redis';
import { startWorker } from '@test/worker';

/**
 * BullMQ's keys must never be evicted (a job, a delayed wake or a lock would vanish):
 * worker and gateway refuse to start on a Redis whose maxmemory-policy is not
 * noeviction, unless WORKGATE_ALLOW_REDIS_EVICTION says to go on (with a warning).
 * The Redis here is a private redis-server on a free port, never the machine's.
 */
describe('Redis maxmemory-policy at start', () => {
  let db: TestSchema;
  let redis: DisposableRedis;

  beforeAll(async () => {
    db = await createTestSchema('evictpolicy');
    redis = await startDisposableRedis({ maxmemory: '64mb', maxmemoryPolicy: 'allkeys-lru' });
  });

  afterAll(async () => {
    redis?.destroy();
    await db?.drop();
  });

  const config = (env: Record<string, string> = {}) =>
    testConfig({
      schema: db.schema,
      prefix: testQueuePrefix(),
      env: { REDIS_URL: redis.url, ...env },
    });

  it('the worker refuses to start', async () => {
    await expect(startWorker(config(), [])).rejects.toThrow(/maxmemory-policy.*allkeys-lru/);
  });

  it('the gateway refuses to start', async () => {
    await expect(startGateway(config())).rejects.toThrow(/maxmemory-policy.*allkeys-lru/);
  });

  it('both start when told to allow eviction', async () => {
    const allow = config({ WORKGATE_ALLOW_REDIS_EVICTION: 'true' });
    const worker = await startWorker(allow, []);
    await worker.close();
    const gateway = await startGateway(allow);
    await gateway.close();
  });
});
