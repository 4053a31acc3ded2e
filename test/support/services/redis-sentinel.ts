import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { freePort, killRedisServer, spawnRedisServer } from '../disposable-services';
import { until } from '../until';

export interface DisposableRedisSentinel {
  name: string;
  /** REDIS_URL for workgate. */
  url: string;
  /** The master's port as the sentinels report it now. */
  masterPort(): number;
  /** kill -9 of the current master; returns its port. */
  killMaster(): number;
  /** Until the sentinels name a master other than `oldPort`. */
  untilFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  destroy(): void;
}

/**
 * One master, one replica and three sentinels (quorum 2) on free ports in a temporary
 * directory. Sentinels call a master down after 2 s without an answer, so a failover
 * takes a few seconds.
 */
export async function startRedisSentinel(name = 'wgmaster'): Promise<DisposableRedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-rsentinel-'));
  const [master, replica, ...sentinels] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  spawnRedisServer(dir, master!);
  spawnRedisServer(dir, replica!, ['--replicaof', '127.0.0.1', String(master)]);
  for (const port of sentinels) {
    // Sentinel rewrites its config file (what it learns of the set): one per sentinel.
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `sentinel monitor ${name} 127.0.0.1 ${master} 2`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    spawnRedisServer(dir, port, [conf, '--sentinel']);
  }
  const ask = () =>
    execFileSync(
      'redis-cli',
      ['-p', String(sentinels[0]), 'sentinel', 'get-master-addr-by-name', name],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
  const masterPort = () => Number(ask()[1]);
  await until(
    () =>
      execFileSync('redis-cli', ['-p', String(master), 'info', 'replication'], {
        encoding: 'utf8',
      }).includes('connected_slaves:1'),
    'the replica to attach to the master',
    20_000,
  );
  return {
    name,
    url: `redis-sentinel://${sentinels.map((p) => `127.0.0.1:${p}`).join(',')}/${name}`,
    masterPort,
    killMaster() {
      const port = masterPort();
      killRedisServer(dir, port);
      return port;
    },
    async untilFailover(oldPort, timeoutMs = 30_000) {
      return until(
        () => {
          const port = masterPort();
          return port !== oldPort ? port : null;
        },
        `the sentinels to promote a replica in place of ${oldPort}`,
        timeoutMs,
      );
    },
    destroy() {
      for (const port of [master!, replica!, ...sentinels]) killRedisServer(dir, port);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
