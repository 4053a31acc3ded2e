import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { Client } from 'pg';
import { StandardWebhooksScheme } from '../../libs/channels/webhook/src/schemes/standard-webhooks.scheme';
import { createLogger, loadConfig, redisTargetOf } from '../../libs/config/src';
import { checkRedisEvictionPolicy } from '../../libs/engine/src';
import { runMigrations } from '../../libs/ledger/src/migrations/migration-runner';
import {
  type DisposablePostgres,
  freePort,
  startDisposablePostgres,
} from '../support/disposable-services';
import { FAULT_WORKFLOWS } from '../support/fault-harness';
import { type AppProcess, spawnApp } from '../support/processes';
import {
  createPooledRole,
  type DisposablePgBouncer,
  pgbouncerAvailable,
  startPgBouncer,
} from '../support/services/pgbouncer';
import { type DisposableRedisCluster, startRedisCluster } from '../support/services/redis-cluster';
import {
  type DisposableRedisSentinel,
  startRedisSentinel,
} from '../support/services/redis-sentinel';
import { until } from '../support/until';

/**
 * workgate past one machine's Redis, with real servers: a 6-node Redis Cluster (3
 * masters, 3 replicas) and a Sentinel set (master, replica, 3 sentinels), a disposable
 * PostgreSQL, a gateway and worker processes built from dist/. Signed webhooks open
 * works (two timers and a step each) while a Redis master is killed (its replica takes
 * over) and a worker is killed -9. Then the audit: every 2xx'd event is in the ledger
 * exactly once, every work it opened completed with its step run once, and on the
 * cluster the queue shards live on more than one master. The figures it prints are in
 * docs/scaling.md.
 */
const SECRET = 'whsec_c2NhbGUtdGVzdC1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u';
const EVENTS = 150;
const SENDERS = 6;
const scheme = new StandardWebhooksScheme();

let pg: DisposablePostgres;
let databaseUrl: string;
// The processes reach PostgreSQL through PgBouncer in transaction mode (3 server
// connections per deployment's role), migrations and the audit directly.
let pooler: DisposablePgBouncer | undefined;

beforeAll(async () => {
  pg = await startDisposablePostgres();
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE workgate_scale');
  await admin.end();
  databaseUrl = pg.url('workgate_scale');
  for (const schema of ['scale_cluster', 'scale_sentinel'])
    await createPooledRole(databaseUrl, { role: schema, database: 'workgate_scale', schema });
  if (pgbouncerAvailable())
    pooler = await startPgBouncer({
      postgresPort: pg.port,
      poolSize: 3,
      users: ['scale_cluster', 'scale_sentinel'],
    });
  else console.warn('PgBouncer is not installed and cannot be: the processes connect directly');
});

afterAll(() => {
  pooler?.destroy();
  pg?.destroy();
});

interface Acked {
  externalId: string;
  eventId: string;
  workId: string | null;
}

/** One topology's processes, on a schema and prefix of their own. */
class Deployment {
  readonly processes: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  gatewayUrl = '';
  private configPath = '';

  constructor(
    readonly schema: string,
    private readonly redisUrl: string,
    private readonly shards: number,
  ) {}

  async start(workers: number): Promise<void> {
    await runMigrations({ connectionString: databaseUrl, schema: this.schema });
    this.configPath = join(mkdtempSync(join(tmpdir(), 'wg-scale-')), 'workgate.config.yaml');
    writeFileSync(
      this.configPath,
      [
        'worker: { lease: 2s, reconcileEvery: 300ms, concurrency: 6 }',
        `queues: { shards: ${this.shards} }`,
        `database: { transactionPooling: ${pooler !== undefined} }`,
        'webhooks:',
        '  sources:',
        `    jobs: { scheme: standard-webhooks, secrets: ["${SECRET}"], workflow: fault.dozer }`,
      ].join('\n'),
    );
    const port = await freePort();
    this.gatewayUrl = `http://127.0.0.1:${port}`;
    const gateway = this.spawn('gateway', { PORT: String(port), HOST: '127.0.0.1' });
    for (let i = 0; i < workers; i++)
      this.workers.push(this.spawn('worker', { WORKER_ID: `w${i}` }));
    await Promise.all([
      gateway.waitForLog((l) => l.msg === 'gateway listening', 'that it listens', 60_000),
      ...this.workers.map((w) =>
        w.waitForLog((l) => l.msg === 'worker started', 'that it started', 60_000),
      ),
    ]);
  }

  private spawn(app: 'gateway' | 'worker', env: Record<string, string>): AppProcess {
    const proc = spawnApp(app, {
      DATABASE_URL: pooler?.url('workgate_scale', this.schema) ?? databaseUrl,
      DATABASE_MIGRATE_URL: databaseUrl,
      WORKGATE_DB_SCHEMA: this.schema,
      REDIS_URL: this.redisUrl,
      WORKGATE_QUEUE_PREFIX: 'wg',
      WORKGATE_CONFIG: this.configPath,
      WORKGATE_WORKFLOWS: FAULT_WORKFLOWS,
      LOG_LEVEL: 'info',
      ...env,
    });
    this.processes.push(proc);
    return proc;
  }

  /**
   * Sends `count` signed webhooks from `SENDERS` concurrent senders, each retried as a
   * sender would until it is answered 2xx; `during(acked)` runs faults along the way.
   */
  async drive(count: number, during: (acked: number) => Promise<void>): Promise<Acked[]> {
    const acked: Acked[] = [];
    let next = 0;
    const sender = async () => {
      for (let i = next++; i < count; i = next++) {
        const body = Buffer.from(JSON.stringify({ naps: 2, ms: 200, n: i }));
        const id = `evt-${this.schema}-${i}`;
        for (let attempt = 0; ; attempt++) {
          const res = await fetch(`${this.gatewayUrl}/hooks/jobs`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...scheme.sign({
                rawBody: body,
                secret: SECRET,
                nowSeconds: Math.floor(Date.now() / 1000),
                id,
              }),
            },
            body,
            signal: AbortSignal.timeout(10_000),
          }).catch(() => null);
          if (res && res.status < 300) {
            const json = (await res.json()) as { eventId: string; workId?: string };
            acked.push({ externalId: id, eventId: json.eventId, workId: json.workId ?? null });
            await during(acked.length);
            break;
          }
          if (attempt > 100) throw new Error(`event ${id} was never accepted`);
          await new Promise((r) => setTimeout(r, 200)); // a sender's retry backoff
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    return acked;
  }

  /** The ledger audit every topology must pass; returns when the last work completed. */
  async audit(acked: Acked[], timeoutMs = 120_000): Promise<number> {
    // Losing a Redis master is an outage to ride out, not a reason for a process to exit:
    // only the worker killed on purpose may be gone.
    for (const proc of this.processes.filter((p) => p !== this.workers[0]))
      expect({ pid: proc.child.pid, exit: proc.child.exitCode ?? proc.child.signalCode }).toEqual({
        pid: proc.child.pid,
        exit: null,
      });
    const db = new Client({
      connectionString: databaseUrl,
      options: `-c search_path=${this.schema}`,
    });
    await db.connect();
    try {
      // Every acknowledged event exactly once (the unique index makes twice impossible;
      // zero would be a lost acknowledgement), with the event id the gateway answered.
      const { rows: events } = await db.query<{ id: string; externalId: string }>(
        `SELECT id, "externalId" FROM "InboundEvent" WHERE channel = 'webhook'`,
      );
      const byExternal = new Map<string, string[]>();
      for (const e of events) {
        const key = e.externalId.slice(e.externalId.indexOf('evt-'));
        byExternal.set(key, [...(byExternal.get(key) ?? []), e.id]);
      }
      for (const a of acked) expect(byExternal.get(a.externalId)).toEqual([a.eventId]);
      expect(new Set(acked.map((a) => a.externalId)).size).toBe(EVENTS);

      // Every work an event opened completes, its one step run once.
      const workIds = acked.map((a) => a.workId).filter((w): w is string => w !== null);
      expect(workIds).toHaveLength(EVENTS);
      let last = '';
      await until(
        async () => {
          const { rows } = await db.query<{ state: string; n: number }>(
            `SELECT state::text, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY state`,
            [workIds],
          );
          last = JSON.stringify(rows);
          return rows.length === 1 && rows[0]!.state === 'COMPLETED' && rows[0]!.n === EVENTS;
        },
        `all ${EVENTS} works to complete (seen ${last})`,
        timeoutMs,
      );
      const { rows: steps } = await db.query<{ n: number; attempts: number }>(
        `SELECT count(*)::int AS n, max(attempt)::int AS attempts FROM "Step"
          WHERE name = 'after-naps' AND status = 'completed' AND "workId" = ANY($1::uuid[])`,
        [workIds],
      );
      expect(steps[0]!.n).toBe(EVENTS);
      const { rows: done } = await db.query<{ at: Date }>(
        `SELECT max("finishedAt") AS at FROM "Work" WHERE id = ANY($1::uuid[])`,
        [workIds],
      );
      return done[0]!.at.getTime();
    } finally {
      await db.end();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
  }
}

function report(label: string, started: number, ackedAt: number, doneAt: number): void {
  const events = (EVENTS / ((ackedAt - started) / 1000)).toFixed(1);
  const works = (EVENTS / ((doneAt - started) / 1000)).toFixed(1);
  // The figures docs/scaling.md quotes (with faults injected, on a shared 2-core machine).
  console.log(
    `${label}: ${EVENTS} events accepted at ${events}/s; all works completed at ${works} works/s (two timers and a step each) — ${((doneAt - started) / 1000).toFixed(1)} s in all`,
  );
}

describe('on a Redis Cluster (3 masters, 3 replicas), 3 shards, 3 workers', () => {
  let cluster: DisposableRedisCluster;
  let deployment: Deployment;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    deployment = new Deployment('scale_cluster', cluster.url, 3);
    await deployment.start(3);
  });

  afterAll(async () => {
    await deployment?.stop();
    cluster?.destroy();
  });

  it('loses nothing through a master failover and a worker kill -9; shards spread over masters', async () => {
    // The master that holds the first work shard: killing it hits live traffic.
    const masterOf = await masterPortOfKey(cluster, 'wg:{work}:wait');

    const started = Date.now();
    let killedMaster = false;
    let killedWorker = false;
    let restartedPooler = false;
    const acked = await deployment.drive(EVENTS, async (n) => {
      if (n >= EVENTS / 3 && !killedMaster) {
        killedMaster = true;
        cluster.kill(masterOf);
      }
      if (n >= EVENTS / 2 && !restartedPooler) {
        restartedPooler = true;
        await pooler?.restart(); // kill -9 and start again
      }
      if (n >= (EVENTS * 2) / 3 && !killedWorker) {
        killedWorker = true;
        await deployment.workers[0]!.stop('SIGKILL');
      }
    });
    const ackedAt = Date.now();
    await cluster.untilHealthy(30_000);
    const doneAt = await deployment.audit(acked);
    report('Redis Cluster', started, ackedAt, doneAt);

    // The shards' keys live on more than one master (after the failover too).
    const live = new Cluster(
      cluster.ports.filter((p) => p !== masterOf).map((port) => ({ host: '127.0.0.1', port })),
    );
    try {
      await live.ping();
      const holders = new Set<string>();
      for (const node of live.nodes('master')) {
        const keys = await node.keys('wg:{*}:meta');
        if (keys.length) holders.add(`${node.options.port}`);
      }
      expect(holders.size).toBeGreaterThan(1);
    } finally {
      live.disconnect();
    }
  });

  it("refuses to start when any one master's maxmemory-policy evicts", async () => {
    const target = redisTargetOf(loadConfig({ env: { REDIS_URL: cluster.url }, path: null }));
    const logger = createLogger(loadConfig({ env: { LOG_LEVEL: 'silent' }, path: null }), 'test');
    await expect(checkRedisEvictionPolicy(target, false, logger)).resolves.toBeUndefined();
    const masters = (await cluster.nodes()).filter((n) => n.role === 'master' && !n.failed);
    const last = masters[masters.length - 1]!;
    execFileSync('redis-cli', [
      '-p',
      String(last.port),
      'config',
      'set',
      'maxmemory-policy',
      'allkeys-lru',
    ]);
    try {
      await expect(checkRedisEvictionPolicy(target, false, logger)).rejects.toThrow(
        new RegExp(`${last.port}: allkeys-lru`),
      );
    } finally {
      execFileSync('redis-cli', [
        '-p',
        String(last.port),
        'config',
        'set',
        'maxmemory-policy',
        'noeviction',
      ]);
    }
  });
});

describe('on Redis Sentinel (master, replica, 3 sentinels), 2 workers', () => {
  let sentinel: DisposableRedisSentinel;
  let deployment: Deployment;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    deployment = new Deployment('scale_sentinel', sentinel.url, 2);
    await deployment.start(2);
  });

  afterAll(async () => {
    await deployment?.stop();
    sentinel?.destroy();
  });

  it('loses nothing acknowledged through a failover and a worker kill -9', async () => {
    const started = Date.now();
    let oldMaster = 0;
    let killedWorker = false;
    const acked = await deployment.drive(EVENTS, async (n) => {
      if (n >= EVENTS / 3 && !oldMaster) oldMaster = sentinel.killMaster();
      if (n >= (EVENTS * 2) / 3 && !killedWorker) {
        killedWorker = true;
        await deployment.workers[0]!.stop('SIGKILL');
      }
    });
    const ackedAt = Date.now();
    expect(await sentinel.untilFailover(oldMaster)).not.toBe(oldMaster);
    const doneAt = await deployment.audit(acked);
    report('Redis Sentinel', started, ackedAt, doneAt);
  });
});

async function masterPortOfKey(cluster: DisposableRedisCluster, key: string): Promise<number> {
  const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  try {
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
    const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<
      [number, number, [string, number, string]]
    >;
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return Number(owner[2][1]);
  } finally {
    client.disconnect();
  }
}
