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
import { until } from '../support/until';

/**
 * A rolling restart of a whole deployment (issue 16, item 5): 2 gateways and 3 workers
 * from dist/, each replaced one after another (SIGTERM, wait for its exit, start its
 * successor) while senders keep opening works through whichever gateway answers, as a
 * load balancer would. The lease is 60 s, far past the test, so a work can only move
 * between workers by a release. The audit: every process exited 0, every acknowledged
 * event is in the ledger once, every work completed, every step ran exactly once (one
 * effect per idempotency key, attempt 1), and no lease ever expired.
 */
const SECRET = 'whsec_cm9sbGluZy1yZXN0YXJ0LXRlc3Qtc2VjcmV0LW5vdC1wcm9kIQ==';
const DB = 'workgate_rolling';
const SCHEMA = 'rolling';
const STEPS = 3;
const scheme = new StandardWebhooksScheme();

interface Acked {
  externalId: string;
  eventId: string;
  workId: string;
}

describe('a rolling restart of 2 gateways and 3 workers under load', () => {
  let pg: DisposablePostgres;
  let redis: DisposableRedis;
  const effects = new LoopbackServer();
  const processes: AppProcess[] = [];
  let env: Record<string, string>;
  /** The gateways a sender may use right now: a replaced one leaves, its successor joins. */
  const gateways: Array<{ url: string; proc: AppProcess }> = [];
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startDisposablePostgres(), startDisposableRedis()]);
    await effects.start();
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.end();
    await runMigrations({ connectionString: pg.url(DB), schema: SCHEMA });
    const configPath = join(mkdtempSync(join(tmpdir(), 'wg-roll-')), 'workgate.config.yaml');
    writeFileSync(
      configPath,
      [
        'server: { drainDelay: 1s, shutdownGrace: 10s }',
        'worker: { lease: 60s, reconcileEvery: 500ms, concurrency: 4 }',
        'webhooks:',
        '  sources:',
        `    jobs: { scheme: standard-webhooks, secrets: ["${SECRET}"], workflow: fault.rolling }`,
      ].join('\n'),
    );
    env = {
      DATABASE_URL: pg.url(DB),
      WORKGATE_DB_SCHEMA: SCHEMA,
      REDIS_URL: redis.url,
      WORKGATE_QUEUE_PREFIX: 'wg',
      WORKGATE_CONFIG: configPath,
      WORKGATE_WORKFLOWS: FAULT_WORKFLOWS,
      LOG_LEVEL: 'info',
    };
    await Promise.all([
      startGateway(),
      startGateway(),
      startWorker(),
      startWorker(),
      startWorker(),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await effects.stop();
    redis?.destroy();
    pg?.destroy();
  });

  async function startGateway(): Promise<void> {
    const port = await freePort();
    const proc = spawnApp('gateway', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    processes.push(proc);
    await proc.waitForLog((l) => l.msg === 'gateway listening', 'that it listens', 60_000);
    gateways.push({ url: `http://127.0.0.1:${port}`, proc });
  }

  async function startWorker(): Promise<void> {
    const proc = spawnApp('worker', { ...env, WORKER_ID: `w${processes.length}` });
    processes.push(proc);
    await proc.waitForLog((l) => l.msg === 'worker started', 'that it started', 60_000);
    workers.push(proc);
  }

  /** One signed delivery, sent to the next gateway and retried on another until answered 2xx. */
  let turn = 0;
  async function deliver(id: string): Promise<Acked> {
    const body = Buffer.from(JSON.stringify({ url: effects.url, steps: STEPS, ms: 100 }));
    for (let attempt = 0; attempt < 300; attempt++) {
      const target = gateways[turn++ % gateways.length];
      const headers = scheme.sign({
        rawBody: body,
        secret: SECRET,
        nowSeconds: Math.floor(Date.now() / 1000),
        id,
      });
      const res = target
        ? await fetch(`${target.url}/hooks/jobs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body,
            signal: AbortSignal.timeout(10_000),
          }).catch(() => null)
        : null;
      if (res && res.status < 300) {
        const json = (await res.json()) as { eventId: string; workId: string };
        return { externalId: id, eventId: json.eventId, workId: json.workId };
      }
      await new Promise((r) => setTimeout(r, 50)); // a sender's retry backoff
    }
    throw new Error(`delivery ${id} was never accepted`);
  }

  /** SIGTERM one process, wait for its clean exit, start its successor. */
  async function roll(proc: AppProcess, kind: 'gateway' | 'worker'): Promise<void> {
    const url = gateways.find((g) => g.proc === proc)?.url;
    proc.child.kill('SIGTERM');
    if (url) {
      await until(
        async () =>
          (await fetch(`${url}/health/ready`).then(
            (r) => r.status,
            () => 0,
          )) === 503,
        'the stopping gateway to turn unready first',
      );
      // The balancer notices and stops sending to it.
      gateways.splice(
        gateways.findIndex((g) => g.proc === proc),
        1,
      );
    }
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    if (kind === 'gateway') await startGateway();
    else {
      workers.splice(workers.indexOf(proc), 1);
      await startWorker();
    }
  }

  it('loses nothing acknowledged, runs every step once, and never waits out a lease', async () => {
    const acked: Acked[] = [];
    let stop = false;
    let n = 0;
    const sender = async () => {
      while (!stop) {
        acked.push(await deliver(`job-${n++}`));
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const senders = [sender(), sender()];
    await until(() => acked.length >= 10, 'the load to be flowing', 30_000);
    const [g0, g1] = gateways.map((g) => g.proc);
    await roll(g0!, 'gateway');
    await roll(g1!, 'gateway');
    for (const w of [...workers]) {
      // Each worker is in the middle of runs when it is told to stop.
      const before = effects.received.length;
      await until(() => effects.received.length > before + 3, 'steps to be running', 30_000);
      await roll(w, 'worker');
    }
    stop = true;
    await Promise.all(senders);

    const db = new Client({ connectionString: pg.url(DB), options: `-c search_path=${SCHEMA}` });
    await db.connect();
    try {
      const { rows: events } = await db.query<{ id: string; externalId: string }>(
        `SELECT id, "externalId" FROM "InboundEvent" WHERE channel = 'webhook'`,
      );
      const byExternal = new Map<string, string[]>();
      for (const e of events) {
        const key = e.externalId.replace(/^.*?(job-\d+)$/, '$1');
        byExternal.set(key, [...(byExternal.get(key) ?? []), e.id]);
      }
      for (const a of acked)
        expect([a.externalId, byExternal.get(a.externalId)]).toEqual([a.externalId, [a.eventId]]);
      const workIds = acked.map((a) => a.workId);
      expect(new Set(workIds).size).toBe(acked.length);
      await until(
        async () => {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM "Work" WHERE id = ANY($1::uuid[]) AND state = 'COMPLETED'`,
            [workIds],
          );
          return rows[0]!.n === workIds.length;
        },
        `all ${workIds.length} works to complete`,
        // Under the 60 s lease: a work stranded on a stopped worker could not make it.
        50_000,
        250,
      );
      const { rows: steps } = await db.query<{ n: number; maxAttempt: number }>(
        `SELECT count(*)::int AS n, max(attempt)::int AS "maxAttempt" FROM "Step" WHERE "workId" = ANY($1::uuid[])`,
        [workIds],
      );
      expect(steps[0]).toEqual({ n: workIds.length * STEPS, maxAttempt: 1 });
      const mine = effects
        .on('/effect')
        .filter((r) => workIds.includes((r.body as { workId: string }).workId));
      expect(mine).toHaveLength(workIds.length * STEPS);
      expect(new Set(mine.map((r) => r.headers['idempotency-key'])).size).toBe(
        workIds.length * STEPS,
      );
      const { rows: moves } = await db.query<{ type: string; n: number }>(
        `SELECT type, count(*)::int AS n FROM "WorkEvent" WHERE type IN ('released', 'lease_expired') GROUP BY type`,
      );
      expect(moves.find((m) => m.type === 'lease_expired')).toBeUndefined();
      // Workers were stopped mid-run: some works moved on by a release.
      expect(moves.find((m) => m.type === 'released')?.n).toBeGreaterThan(0);
      console.log(
        `rolling restart: ${acked.length} works acknowledged, ${moves.find((m) => m.type === 'released')?.n ?? 0} released by stopping workers`,
      );
    } finally {
      await db.end();
    }
  }, 300_000);
});
