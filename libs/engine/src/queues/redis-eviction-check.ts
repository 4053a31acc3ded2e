import { Cluster } from 'ioredis';
import { type Logger, type RedisTarget } from '@app/config';
import { createRedis, masters, type RedisClient } from './redis-connection';

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
  target: RedisTarget,
  allowEviction: boolean,
  logger: Logger,
): Promise<void> {
  const redis = createRedis(target, 'producer', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: CHECK_TIMEOUT_MS,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...(target.kind === 'sentinel' ? { sentinelRetryStrategy: () => null } : {}),
  });
  let policies: Array<{ node: string; policy: string | null }>;
  try {
    policies = await withTimeout(readPolicies(redis), CHECK_TIMEOUT_MS * 2);
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      "could not read Redis's maxmemory-policy at start; it must be noeviction",
    );
    return;
  } finally {
    redis.disconnect();
  }
  const evicting = policies.filter((p) => p.policy !== null && p.policy !== 'noeviction');
  if (!evicting.length) return;
  const where = evicting.map((p) => `${p.node}: ${p.policy}`).join(', ');
  const message = `Redis maxmemory-policy is not noeviction (${where}): BullMQ's jobs, delayed wakes and locks could be evicted`;
  if (!allowEviction)
    throw new Error(
      `${message}. Set maxmemory-policy noeviction, or WORKGATE_ALLOW_REDIS_EVICTION=true to start anyway`,
    );
  logger.error(
    { policies: evicting },
    `${message} (starting anyway: WORKGATE_ALLOW_REDIS_EVICTION)`,
  );
}

/**
 * Every master's policy: on a Cluster each master holds its own slots and has its own
 * setting, so one evicting master is enough to lose the jobs of the shards it holds.
 */
async function readPolicies(
  redis: RedisClient,
): Promise<Array<{ node: string; policy: string | null }>> {
  if (redis instanceof Cluster) {
    await redis.connect();
    return Promise.all(
      masters(redis).map(async (node) => ({
        node: `${node.options.host}:${node.options.port}`,
        policy: evictionPolicyOf(await node.info('memory')),
      })),
    );
  }
  await redis.connect();
  return [{ node: 'redis', policy: evictionPolicyOf(await redis.info('memory')) }];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
