import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { StandardWebhooksScheme } from '../../libs/channels/webhook/src/schemes/standard-webhooks.scheme';
import { runMigrations } from '../../libs/ledger/src/migrations/migration-runner';
import {
  type DisposablePostgres,
  type DisposableRedis,
  freePort,
  startDisposablePostgres,
  startDisposableRedis,
} from '../support/disposable-services';
import { FAULT_WORKFLOWS } from '../support/fault-harness';
import { LoopbackServer } from '../support/loopback-server';
import { type AppProcess, spawnApp } from '../support/processes';
import {
  createPooledRole,
  type DisposablePgBouncer,
  pgbouncerAvailable,
  startPgBouncer,
} from '../support/services/pgbouncer';
import { until } from '../support/until';

/**
 * workgate behind PgBouncer 1.18 in transaction pooling mode (Debian's; it does not
 * track named prepared statements): a gateway and two workers from dist/ share 3 server
 * connections through it, migrations go straight to PostgreSQL (DATABASE_MIGRATE_URL).
 * Signed webhooks open works (a timer, a side effect, a wait) and signed replies resume
 * them, while PgBouncer is killed -9 and started again twice. Then the audit: every 2xx'd
 * event is in the ledger exactly once, every work completed, each side effect applied
 * under one idempotency key and its step completed once.
 */
const SECRET = 'whsec_cGdib3VuY2VyLXRlc3Qtc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbiE=';
const WORKS = 60;
const SENDERS = 6;
const POOL = 3;
const DB = 'workgate_pgb';
const SCHEMA = 'pgb';
const ROLE = 'wg_pgb';
const scheme = new StandardWebhooksScheme();

const available = pgbouncerAvailable();
if (!available)
  console.warn(
    'pgbouncer.cluster-spec skipped: /usr/sbin/pgbouncer is not installed and `apt-get install -y pgbouncer` failed',
  );

interface Acked {
  source: string;
  externalId: string;
  eventId: string;
  workId: string | null;
}

(available ? describe : describe.skip)('through PgBouncer in transaction mode', () => {
  let pg: DisposablePostgres;
  let redis: DisposableRedis;
  let bouncer: DisposablePgBouncer;
  const effects = new LoopbackServer();
  const processes: AppProcess[] = [];
  let gatewayUrl = '';

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startDisposablePostgres(), startDisposableRedis()]);
    await effects.start();
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    await createPooledRole(pg.url(DB), { role: ROLE, database: DB, schema: SCHEMA });
    await runMigrations({ connectionString: pg.url(DB), schema: SCHEMA });
    bouncer = await startPgBouncer({ postgresPort: pg.port, poolSize: POOL, users: [ROLE] });
    await startProcesses();
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await effects.stop();
    bouncer?.destroy();
    redis?.destroy();
    pg?.destroy();
  });

  async function startProcesses(): Promise<void> {
    const configPath = join(mkdtempSync(join(tmpdir(), 'wg-pgb-')), 'workgate.config.yaml');
    writeFileSync(
      configPath,
      [
        'worker: { lease: 2s, reconcileEvery: 300ms, concurrency: 6 }',
        'database: { transactionPooling: true }',
        'webhooks:',
        '  sources:',
        `    jobs: { scheme: standard-webhooks, secrets: ["${SECRET}"], workflow: fault.pooled }`,
        `    replies: { scheme: standard-webhooks, secrets: ["${SECRET}"], correlation: { pointer: /ref } }`,
      ].join('\n'),
    );
    const env = {
      DATABASE_URL: bouncer.url(DB, ROLE),
      DATABASE_MIGRATE_URL: pg.url(DB),
      WORKGATE_DB_SCHEMA: SCHEMA,
      REDIS_URL: redis.url,
      WORKGATE_QUEUE_PREFIX: 'wg',
      WORKGATE_CONFIG: configPath,
      WORKGATE_WORKFLOWS: FAULT_WORKFLOWS,
      LOG_LEVEL: 'info',
    };
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    const gateway = spawnApp('gateway', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const workers = [0, 1].map((i) => spawnApp('worker', { ...env, WORKER_ID: `pgb${i}` }));
    processes.push(gateway, ...workers);
    await Promise.all([
      gateway.waitForLog((l) => l.msg === 'gateway listening', 'that it listens', 60_000),
      ...workers.map((w) =>
        w.waitForLog((l) => l.msg === 'worker started', 'that it started', 60_000),
      ),
    ]);
  }

  /** Posts one signed delivery, retried as a sender would until it is answered 2xx. */
  async function deliver(source: string, id: string, payload: unknown): Promise<Acked> {
    const body = Buffer.from(JSON.stringify(payload));
    for (let attempt = 0; ; attempt++) {
      const headers = scheme.sign({
        rawBody: body,
        secret: SECRET,
        nowSeconds: Math.floor(Date.now() / 1000),
        id,
      });
      const res = await fetch(`${gatewayUrl}/hooks/${source}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        signal: AbortSignal.timeout(10_000),
      }).catch(() => null);
      if (res && res.status < 300) {
        const json = (await res.json()) as { eventId: string; workId?: string };
        return { source, externalId: id, eventId: json.eventId, workId: json.workId ?? null };
      }
      if (attempt > 150) throw new Error(`delivery ${id} was never accepted`);
      await new Promise((r) => setTimeout(r, 200)); // a sender's retry backoff
    }
  }

  /** Each work: its opening event, then its reply; PgBouncer dies twice along the way. */
  async function drive(): Promise<Acked[]> {
    const acked: Acked[] = [];
    const restartsAt = [Math.floor(WORKS / 3), Math.floor((WORKS * 2) / 3)];
    let opened = 0;
    let next = 0;
    const sender = async () => {
      for (let i = next++; i < WORKS; i = next++) {
        const ref = `r-${i}`;
        acked.push(await deliver('jobs', `job-${i}`, { url: effects.url, ref, ms: 150 }));
        opened++;
        if (restartsAt[0] !== undefined && opened >= restartsAt[0]) {
          restartsAt.shift();
          await bouncer.restart();
        }
        acked.push(await deliver('replies', `reply-${i}`, { ref }));
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    return acked;
  }

  it('loses nothing acknowledged and doubles no side effect across PgBouncer restarts', async () => {
    const acked = await drive();
    for (const proc of processes)
      expect({ pid: proc.child.pid, exit: proc.child.exitCode ?? proc.child.signalCode }).toEqual({
        pid: proc.child.pid,
        exit: null,
      });
    const db = new Client({ connectionString: pg.url(DB), options: `-c search_path=${SCHEMA}` });
    db.on('error', () => undefined);
    await db.connect();
    try {
      await auditEvents(db, acked);
      const workIds = acked.filter((a) => a.source === 'jobs').map((a) => a.workId!);
      expect(new Set(workIds).size).toBe(WORKS);
      await untilCompleted(db, workIds);
      await auditSteps(db, workIds);
    } finally {
      await db.end();
    }
    // Connections really were shared: more clients than the pool has server connections.
    const pools = bouncer.show('POOLS').filter((p) => p.database === DB);
    const servers = bouncer.show('SERVERS').filter((s) => s.database === DB);
    const clients = bouncer.show('CLIENTS').filter((c) => c.database === DB);
    expect(pools).toHaveLength(1);
    expect(servers.length).toBeLessThanOrEqual(POOL);
    expect(clients.length).toBeGreaterThan(POOL);
  }, 300_000);

  async function auditEvents(db: Client, acked: Acked[]): Promise<void> {
    // Every acknowledged event exactly once (the unique index makes twice impossible;
    // zero would be a lost acknowledgement), under the event id the gateway answered.
    const { rows } = await db.query<{ id: string; externalId: string }>(
      `SELECT id, "externalId" FROM "InboundEvent" WHERE channel = 'webhook'`,
    );
    const byExternal = new Map<string, string[]>();
    for (const e of rows) {
      const key = e.externalId.replace(/^.*?((job|reply)-\d+)$/, '$1');
      byExternal.set(key, [...(byExternal.get(key) ?? []), e.id]);
    }
    for (const a of acked) expect(byExternal.get(a.externalId)).toEqual([a.eventId]);
    expect(acked).toHaveLength(2 * WORKS);
  }

  async function untilCompleted(db: Client, workIds: string[]): Promise<void> {
    await until(
      async () => {
        const { rows } = await db.query<{ state: string; n: number }>(
          `SELECT state::text, count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) GROUP BY state`,
          [workIds],
        );
        return rows.length === 1 && rows[0]!.state === 'COMPLETED' && rows[0]!.n === WORKS;
      },
      `all ${WORKS} works to complete`,
      120_000,
      250,
    );
  }

  async function auditSteps(db: Client, workIds: string[]): Promise<void> {
    // Each work's side effect under one idempotency key (a step re-run after a lost
    // checkpoint repeats the key, which the receiver dedupes on), its step completed once.
    const keys = effects.keys('/effect');
    const workOf = new Map(effects.on('/effect').map((r) => [r.headers['idempotency-key'], r]));
    expect(keys.size).toBe(WORKS);
    expect(
      new Set([...workOf.values()].map((r) => (r.body as { workId: string }).workId)).size,
    ).toBe(WORKS);
    const { rows } = await db.query<{ name: string; n: number; works: number }>(
      `SELECT name, count(*)::int AS n, count(DISTINCT "workId")::int AS works FROM "Step"
        WHERE status = 'completed' AND name IN ('effect', 'after-reply') AND "workId" = ANY($1::uuid[])
        GROUP BY name ORDER BY name`,
      [workIds],
    );
    expect(rows).toEqual([
      { name: 'after-reply', n: WORKS, works: WORKS },
      { name: 'effect', n: WORKS, works: WORKS },
    ]);
    // The reply each work waited for is its own.
    const { rows: outputs } = await db.query<{ ok: number }>(
      `SELECT count(*)::int AS ok FROM "Work"
        WHERE id = ANY($1::uuid[]) AND output->>'ref' = input->'payload'->>'ref'`,
      [workIds],
    );
    expect(outputs[0]!.ok).toBe(WORKS);
  }
});
