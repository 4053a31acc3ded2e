import { Redis, type RedisOptions } from 'ioredis';

/**
 * Workers block on Redis and must retry forever (BullMQ requires
 * maxRetriesPerRequest: null); producers in the gateway must fail fast instead, so an
 * enqueue after commit never holds up an HTTP answer while Redis is down — the
 * reconciler re-enqueues from the ledger.
 */
export function createRedis(
  url: string,
  role: 'producer' | 'worker',
  extra: RedisOptions = {},
): Redis {
  const options: RedisOptions =
    role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 };
  const redis = new Redis(url, { ...options, ...extra, lazyConnect: false });
  // Reconnecting is ioredis's job; without a listener every failed attempt would print a
  // stack trace. Readiness checks and the reconciler report Redis being down.
  redis.on('error', () => undefined);
  return redis;
}
