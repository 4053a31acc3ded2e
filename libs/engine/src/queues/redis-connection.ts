import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { type RedisTarget } from '@app/config';

/** A connection to a single Redis (directly or through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Workers block on Redis and must retry forever (BullMQ requires
 * maxRetriesPerRequest: null); producers in the gateway must fail fast instead, so an
 * enqueue after commit never holds up an HTTP answer while Redis is down — the
 * reconciler re-enqueues from the ledger.
 */
function roleOptions(role: 'producer' | 'worker'): RedisOptions {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 };
}

/**
 * Every Redis connection of the process is made here, from the one target the config
 * names: a URL (`redis://`), a Sentinel set (ioredis asks the sentinels for the master,
 * and again when a failover moves it), or a Cluster (ioredis follows MOVED/ASK and
 * refreshes the slot map when a replica is promoted).
 */
export function createRedis(
  target: RedisTarget,
  role: 'producer' | 'worker',
  extra: RedisOptions = {},
): RedisClient {
  const options: RedisOptions = { ...roleOptions(role), lazyConnect: false, ...extra };
  let redis: RedisClient;
  switch (target.kind) {
    case 'standalone':
      redis = new Redis(target.url, options);
      break;
    case 'sentinel':
      redis = new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        ...(target.password ? { password: target.password } : {}),
        ...(target.username ? { username: target.username } : {}),
        ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
        // A failover turns the old master into a replica: reconnect (to the new master)
        // on READONLY instead of failing writes until the next connection error.
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
      });
      break;
    case 'cluster':
      redis = new Cluster(target.nodes, clusterOptions(target, role, options));
      break;
  }
  // Reconnecting is ioredis's job; without a listener every failed attempt would print a
  // stack trace. Readiness checks and the reconciler report Redis being down.
  redis.on('error', () => undefined);
  return redis;
}

function clusterOptions(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  role: 'producer' | 'worker',
  options: RedisOptions,
): ClusterOptions {
  // Options that are the cluster's own, not each node connection's.
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...redisOptions } = options;
  return {
    ...(retryStrategy !== undefined ? { clusterRetryStrategy: retryStrategy } : {}),
    // While a failover is under way the slots of the failed master answer CLUSTERDOWN
    // or are unreachable: ioredis retries those commands after these delays and
    // refreshes the slot map, which is what carries a worker across the promotion.
    retryDelayOnClusterDown: 300,
    retryDelayOnFailover: 200,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2_000,
    enableOfflineQueue: enableOfflineQueue ?? role === 'worker',
    lazyConnect,
    ...(target.options as ClusterOptions),
    redisOptions: {
      ...redisOptions,
      ...(target.password ? { password: target.password } : {}),
      ...(target.username ? { username: target.username } : {}),
      ...((target.options.redisOptions as RedisOptions | undefined) ?? {}),
    },
  };
}

/** The masters of a cluster, or the one server otherwise (what must be checked on each). */
export function masters(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}
