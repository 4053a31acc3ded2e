import { Redis } from 'ioredis';
import { type Logger } from '@app/config';

/** How long start-up waits for Redis to answer before giving up on the check. */
const CHECK_TIMEOUT_MS = 3_000;

/** `maxmemory_policy` from `INFO memory` (readable where CONFIG is disabled, e.g. managed Redis). */
export function evictionPolicyOf(info: string): string | null {
  const line = info.split(/\r?\n/).find((l) => l.startsWith('maxmemory_policy:'));
  return line ? line.slice('maxmemory_policy:'.length).trim() : null;
}

/**
 * Redis must keep every key BullMQ writes: with any other maxmemory-policy a full Redis
 * evicts jobs, delayed wakes and job locks silently (a lock evicted mid-run lets a
 * second worker take the same job). The reconciler would rebuild most of it from the
 * ledger, but only after the damage. So worker and gateway refuse to start on such a
 * Redis (this throws, before anything else connects) unless `allowEviction`
 * (WORKGATE_ALLOW_REDIS_EVICTION), which starts with a loud error in the log. A Redis
 * that does not answer in time is not checked — the gateway starts while Redis is down
 * and reports it in /health — and the warning says so.
 */
export async function checkRedisEvictionPolicy(
  url: string,
  allowEviction: boolean,
  logger: Logger,
): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: CHECK_TIMEOUT_MS,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => undefined);
  let policy: string | null;
  try {
    await redis.connect();
    policy = evictionPolicyOf(await redis.info('memory'));
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      "could not read Redis's maxmemory-policy at start; it must be noeviction",
    );
    return;
  } finally {
    redis.disconnect();
  }
  if (policy === null || policy === 'noeviction') return;
  const message = `Redis maxmemory-policy is ${policy}, not noeviction: BullMQ's jobs, delayed wakes and locks could be evicted`;
  if (!allowEviction)
    throw new Error(
      `${message}. Set maxmemory-policy noeviction, or WORKGATE_ALLOW_REDIS_EVICTION=true to start anyway`,
    );
  logger.error({ policy }, `${message} (starting anyway: WORKGATE_ALLOW_REDIS_EVICTION)`);
}
