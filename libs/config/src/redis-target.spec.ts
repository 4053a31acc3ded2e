import { loadConfig } from './app-config';
import { describeRedisTarget, parseRedisUrl, redisTargetOf } from './redis-target';

describe(parseRedisUrl.name, () => {
  it.each([
    ['redis://127.0.0.1:6379', { kind: 'standalone', url: 'redis://127.0.0.1:6379' }],
    [
      'rediss://:pw@cache.example:6380/2',
      { kind: 'standalone', url: 'rediss://:pw@cache.example:6380/2' },
    ],
    [
      'redis-cluster://10.0.0.1:7000,10.0.0.2:7001',
      {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
        ],
        options: {},
      },
    ],
    [
      'redis-cluster://app:s%40cret@[::1]:7000',
      {
        kind: 'cluster',
        nodes: [{ host: '::1', port: 7000 }],
        options: {},
        username: 'app',
        password: 's@cret',
      },
    ],
    [
      'redis-sentinel://:pw@s1:26379,s2:26380/mymaster/3',
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
        db: 3,
        password: 'pw',
      },
    ],
  ])('reads %s', (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ['http://127.0.0.1:6379', /must start with redis/],
    ['redis-cluster://h1', /host:port/],
    ['redis-cluster://h1:7000,h2', /host:port/],
    ['redis-cluster://h1:7000/2', /no path/],
    ['redis-sentinel://s1:26379', /master name/],
    ['redis-sentinel://s1:26379/m/x', /number/],
    ['not a url', /not a URL/],
  ])('refuses %s', (url, message) => {
    const result = parseRedisUrl(url);
    expect(typeof result).toBe('string');
    expect(result).toMatch(message);
  });
});

describe(redisTargetOf.name, () => {
  const load = (env: Record<string, string>, overrides: Record<string, unknown> = {}) =>
    loadConfig({ env, path: null, overrides });

  it('takes REDIS_URL when the config has no redis block', () => {
    expect(redisTargetOf(load({ REDIS_URL: 'redis-cluster://a:1,b:2' }))).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
    });
  });

  it('prefers the config block, nodes as strings or objects', () => {
    const config = load(
      { REDIS_URL: 'redis://elsewhere:6379' },
      {
        redis: {
          cluster: {
            nodes: ['a:7000', { host: 'b', port: 7001 }],
            password: 'pw',
            options: { scaleReads: 'master' },
          },
        },
      },
    );
    expect(redisTargetOf(config)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      password: 'pw',
      options: { scaleReads: 'master' },
    });
  });

  it('reads a sentinel block', () => {
    const config = load(
      {},
      { redis: { sentinel: { sentinels: ['s1:26379'], name: 'wg', sentinelPassword: 'x' } } },
    );
    const target = redisTargetOf(config);
    expect(target).toEqual({
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }],
      name: 'wg',
      sentinelPassword: 'x',
      db: 0,
    });
    expect(describeRedisTarget(target)).toBe('sentinel wg via s1:26379');
  });

  it('refuses cluster and sentinel together, and a bad REDIS_URL, at load', () => {
    expect(() =>
      load(
        {},
        { redis: { cluster: { nodes: ['a:1'] }, sentinel: { sentinels: ['s:2'], name: 'm' } } },
      ),
    ).toThrow(/exclusive/);
    expect(() => load({ REDIS_URL: 'redis-cluster://nohost' })).toThrow(/host:port/);
  });

  it('defaults to one queue shard and accepts more', () => {
    expect(load({}).queues.shards).toBe(1);
    expect(load({}, { queues: { shards: 4 } }).queues.shards).toBe(4);
    expect(() => load({}, { queues: { shards: 0 } })).toThrow(/shards/);
  });
});
