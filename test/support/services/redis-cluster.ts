import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, killRedisServer, spawnRedisServer } from '../disposable-services';
import { until } from '../until';

/** A node as CLUSTER NODES describes it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** Failed or unreachable, as the node asked sees it. */
  failed: boolean;
  /** Slots served (masters only). */
  slots: number;
}

export interface DisposableRedisCluster {
  ports: number[];
  /** REDIS_URL for workgate. */
  url: string;
  /** The cluster as a live node sees it. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** kill -9 of one node. */
  kill(port: number): void;
  /** Until a replica has taken over every slot and the cluster says ok. */
  untilHealthy(timeoutMs?: number): Promise<void>;
  destroy(): void;
}

/**
 * A Redis Cluster of `masters` masters with one replica each, on free ports in a
 * temporary directory, made by `redis-cli --cluster create`. A short node timeout (2 s)
 * makes a replica take over a killed master within seconds, as a test needs.
 */
export async function startRedisCluster(masters = 3): Promise<DisposableRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-rcluster-'));
  const ports: number[] = [];
  while (ports.length < masters * 2) {
    const port = await freePort();
    // The cluster bus listens on port + 10000: it must be free too, and below 65536.
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  const killed = new Set<number>();
  for (const port of ports)
    spawnRedisServer(dir, port, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '2000',
      // A replica takes over however old its last contact with the master: with the
      // default factor (10) the killed master's replica here never took over
      // (cluster_state:fail for 90 s, the scenario timing out in CI).
      '--cluster-replica-validity-factor',
      '0',
    ]);
  execFileSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ],
    { stdio: 'pipe', timeout: 60_000 },
  );

  async function nodes(): Promise<ClusterNodeInfo[]> {
    const port = ports.find((p) => !killed.has(p))!;
    const redis = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    try {
      await redis.connect();
      const text = String(await redis.call('CLUSTER', 'NODES'));
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [id, addr, flags, , , , , , ...slots] = line.split(' ');
          return {
            id: id!,
            port: Number(/:(\d+)@/.exec(addr!)?.[1]),
            role: flags!.includes('master') ? ('master' as const) : ('replica' as const),
            // `fail?` is one node's suspicion; `fail` is the cluster's agreement.
            failed: /(^|,)(fail|noaddr)(,|$)/.test(flags!),
            slots: slots
              .filter((s) => !s.startsWith('['))
              .reduce((sum, s) => {
                const [a, b] = s.split('-').map(Number);
                return sum + (b === undefined ? 1 : b - a! + 1);
              }, 0),
          };
        });
    } finally {
      redis.disconnect();
    }
  }

  const cluster: DisposableRedisCluster = {
    ports,
    url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    nodes,
    kill(port) {
      killed.add(port);
      killRedisServer(dir, port);
    },
    async untilHealthy(timeoutMs = 30_000) {
      await until(
        async () => {
          const all = await nodes().catch(() => []);
          const serving = all.filter(
            (n) => n.role === 'master' && !n.failed && !killed.has(n.port),
          );
          const slots = serving.reduce((s, n) => s + n.slots, 0);
          if (slots !== 16_384) return false;
          // Every live node agrees the cluster is usable.
          for (const port of ports.filter((p) => !killed.has(p))) {
            const info = execFileSync('redis-cli', ['-p', String(port), 'cluster', 'info'], {
              encoding: 'utf8',
            });
            if (!info.includes('cluster_state:ok')) return false;
          }
          return true;
        },
        'every slot to be served by a live master and the cluster to be ok',
        timeoutMs,
      );
    },
    destroy() {
      for (const port of ports) killRedisServer(dir, port);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.untilHealthy();
  return cluster;
}
