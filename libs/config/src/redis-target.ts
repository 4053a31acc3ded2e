import { z } from 'zod';

/** One Redis node or sentinel: `host:port`, or `{ host, port }`. */
const hostPort = z.union([
  z.string().transform((value, ctx) => {
    const parsed = parseHostPort(value);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `not host:port: ${value}` });
      return z.NEVER;
    }
    return parsed;
  }),
  z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }),
]);
export type HostPort = { host: string; port: number };

/**
 * `redis:` in workgate.config.yaml. Without a block, REDIS_URL says where Redis is
 * (`redis://`, `rediss://`, `redis-cluster://h1:p1,h2:p2`, `redis-sentinel://…`).
 */
export const redisConfigSchema = z
  .strictObject({
    /** A Redis Cluster: a few seed nodes (ioredis discovers the rest) and ioredis ClusterOptions. */
    cluster: z
      .strictObject({
        nodes: z.array(hostPort).min(1),
        /** Passed to every node connection (AUTH). */
        password: z.string().min(1).optional(),
        username: z.string().min(1).optional(),
        /** ioredis ClusterOptions (e.g. natMap, scaleReads, slotsRefreshTimeout), as given. */
        options: z.record(z.string(), z.unknown()).default({}),
      })
      .optional(),
    /** A Sentinel-managed master: ioredis asks the sentinels where the master is, and again after a failover. */
    sentinel: z
      .strictObject({
        sentinels: z.array(hostPort).min(1),
        /** The master's name as the sentinels know it (`sentinel monitor <name> …`). */
        name: z.string().min(1),
        /** The master's and replicas' password. */
        password: z.string().min(1).optional(),
        username: z.string().min(1).optional(),
        /** The sentinels' own password, when they require one. */
        sentinelPassword: z.string().min(1).optional(),
        db: z.number().int().nonnegative().default(0),
      })
      .optional(),
  })
  .superRefine((redis, ctx) => {
    if (redis.cluster && redis.sentinel)
      ctx.addIssue({
        code: 'custom',
        message: 'redis.cluster and redis.sentinel are exclusive: a deployment uses one of them',
      });
  });
export type RedisConfig = z.infer<typeof redisConfigSchema>;

/** Where this process's Redis connections go; every connection is made from it. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'cluster';
      nodes: HostPort[];
      password?: string;
      username?: string;
      options: Record<string, unknown>;
    }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      name: string;
      password?: string;
      username?: string;
      sentinelPassword?: string;
      db: number;
    };

function parseHostPort(value: string): HostPort | null {
  // An IPv6 address in brackets ([::1]:7000) or host:port.
  const match = /^(?:\[([^\]]+)\]|([^:/\s,]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) return null;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (match[1] ?? match[2])!, port };
}

function parseHostList(list: string): HostPort[] | null {
  const parsed = list.split(',').map(parseHostPort);
  return parsed.length > 0 && parsed.every((p) => p !== null) ? parsed : null;
}

/**
 * REDIS_URL as a target. `redis-cluster://[user:password@]h1:p1,h2:p2` and
 * `redis-sentinel://[user:password@]s1:p1,s2:p2/<master name>[/<db>]` are this project's
 * own forms (a host list is not a WHATWG URL, so they are parsed by hand); anything
 * else must be a `redis://` or `rediss://` URL, which ioredis reads itself.
 * Returns an error message for a value that is none of these.
 */
export function parseRedisUrl(url: string): RedisTarget | string {
  const special = /^(redis-cluster|redis-sentinel):\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/.exec(url);
  if (special) {
    const [, scheme, auth, hosts, path] = special;
    const hostList = parseHostList(hosts!);
    if (!hostList) return `${scheme}:// needs host:port[,host:port…], got "${hosts}"`;
    const credentials = parseAuth(auth);
    if (scheme === 'redis-cluster') {
      if (path) return 'redis-cluster:// takes no path (a cluster has only database 0)';
      return { kind: 'cluster', nodes: hostList, options: {}, ...credentials };
    }
    const [name, db, ...rest] = (path ?? '').split('/');
    if (!name || rest.length) return 'redis-sentinel:// needs the master name: …/<name>[/<db>]';
    if (db !== undefined && db !== '' && !/^\d+$/.test(db))
      return `redis-sentinel:// database must be a number, got "${db}"`;
    return {
      kind: 'sentinel',
      sentinels: hostList,
      name: decodeURIComponent(name),
      db: db ? Number(db) : 0,
      ...credentials,
    };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: ${url}`;
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    return `REDIS_URL must start with redis://, rediss://, redis-cluster:// or redis-sentinel://, got ${parsed.protocol}//`;
  return { kind: 'standalone', url };
}

function parseAuth(auth: string | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  const colon = auth.indexOf(':');
  const username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon));
  const password = colon < 0 ? '' : decodeURIComponent(auth.slice(colon + 1));
  return {
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
}

/** The config's `redis` block wins over REDIS_URL; without one, REDIS_URL decides. */
export function redisTargetOf(config: {
  env: { REDIS_URL: string };
  redis?: RedisConfig;
}): RedisTarget {
  const { cluster, sentinel } = config.redis ?? {};
  if (cluster)
    return {
      kind: 'cluster',
      nodes: cluster.nodes,
      options: cluster.options,
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.username ? { username: cluster.username } : {}),
    };
  if (sentinel) return { kind: 'sentinel', ...sentinel };
  const target = parseRedisUrl(config.env.REDIS_URL);
  if (typeof target === 'string') throw new Error(target);
  return target;
}

/** A target for logs: hosts and kind, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  switch (target.kind) {
    case 'standalone': {
      try {
        const url = new URL(target.url);
        return `${url.protocol}//${url.host}${url.pathname}`;
      } catch {
        return 'redis';
      }
    }
    case 'cluster':
      return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    case 'sentinel':
      return `sentinel ${target.name} via ${target.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  }
}
