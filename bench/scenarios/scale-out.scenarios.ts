import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { runMigrations } from '@app/ledger';
import { BENCH_WORKFLOWS, freePort, log, waitFor } from '../lib/harness';
import { round } from '../lib/stats';
import {
  type DisposablePostgres,
  type DisposableRedis,
  startDisposablePostgres,
  startDisposableRedis,
} from '../../test/support/disposable-services';
import { type AppProcess, spawnApp } from '../../test/support/processes';
import { until } from '../../test/support/until';
import { type Row } from './engine.scenarios';
import { cpuMs, load, SECRET, SOURCE } from './ingest.scenarios';

const WORKFLOW = 'bench.three-steps';
const STEPS_PER_WORK = 3;
const CONNECTIONS = 16;

/** One worker count's run: its own schema and queue prefix on the shared servers. */
interface Stage {
  workers: number;
  env: Record<string, string>;
  db: Client;
  gateway: AppProcess;
  hook: string;
  running: AppProcess[];
}

/**
 * `npm run bench -- --only=scale-out`: one gateway and 1, 2, then 3 worker processes on
 * a disposable PostgreSQL and Redis of its own (never the machine's), each count with a
 * fresh schema and queue prefix. Signed webhooks open `bench.three-steps` works. Per
 * count, two phases:
 * - backlog: `works` events accepted while the work queue is paused (BullMQ's global
 *   pause), then resumed: steps/s of the warm workers draining it, the gateway idle;
 * - live: `works` more events in a closed loop while the workers run: events/s accepted
 *   and steps/s completed, everything sharing the machine as in a deployment.
 * Step rates come from the ledger (first step started → last step finished, PostgreSQL's
 * clock), event rates from the load process.
 */
export async function scaleOut(opts: { works: number; counts: number[] }): Promise<Row[]> {
  const pg = await startDisposablePostgres();
  const redis = await startDisposableRedis();
  const rows: Row[] = [];
  try {
    for (const workers of opts.counts) rows.push(...(await measure(pg, redis, workers, opts)));
  } finally {
    redis.destroy();
    pg.destroy();
  }
  return rows;
}

async function measure(
  pg: DisposablePostgres,
  redis: DisposableRedis,
  workers: number,
  opts: { works: number },
): Promise<Row[]> {
  const stage = await openStage(pg, redis, workers);
  try {
    log(`scale-out: ${workers} worker(s): warm-up`);
    await startWorkers(stage);
    await phase(stage, 'warm', Math.min(200, opts.works));
    // The backlog waits in the paused queue, so the same warm worker processes drain it.
    log(`scale-out: ${workers} worker(s): backlog of ${opts.works}, then drain`);
    const queue = workQueue(stage);
    await queue.pause();
    const walBefore = await walBytes(stage);
    const queued = await load(loadOptions(stage, 'backlog', opts.works));
    const walIngested = await walBytes(stage);
    const load1 = loadavg()[0]!;
    const drainCpu = workersCpu(stage);
    await queue.resume();
    await queue.close();
    const drain = await completed(stage, 'backlog', queued.accepted);
    const cpuPerStep = (workersCpu(stage) - drainCpu) / (queued.accepted * STEPS_PER_WORK);
    const walPerEvent = (walIngested - walBefore) / queued.accepted / 1024;
    const walPerWork = ((await walBytes(stage)) - walIngested) / queued.accepted / 1024;
    log(`scale-out: ${workers} worker(s): live, ${opts.works} events`);
    const gatewayCpu = cpuMs(stage.gateway.child.pid!);
    const live = await phase(stage, 'live', opts.works);
    const cpuPerEvent = (cpuMs(stage.gateway.child.pid!) - gatewayCpu) / opts.works;
    const note = `${workers} worker process(es) × concurrency 8, 1 gateway, ${STEPS_PER_WORK} steps per work; load average ${round(load1, 1)} before the drain`;
    return [
      row(workers, 'events/s accepted (workers running)', live.eventsPerSec, '/s', note),
      row(workers, 'steps/s (workers running, live load)', live.stepsPerSec, '/s'),
      row(workers, 'steps/s (draining a backlog)', drain.stepsPerSec, '/s'),
      row(workers, 'events/s accepted (queue paused)', queued.acceptedPerSec, '/s'),
      row(workers, 'worker CPU per step (drain, all workers)', cpuPerStep, 'ms'),
      row(workers, 'gateway CPU per event (live)', cpuPerEvent, 'ms'),
      row(workers, 'WAL per event ingested', walPerEvent, 'kB'),
      row(workers, 'WAL per work run (3 steps)', walPerWork, 'kB'),
    ];
  } finally {
    await closeStage(stage);
  }
}

function row(workers: number, metric: string, value: number, unit: string, note?: string): Row {
  return { scenario: `scale-out ×${workers}`, metric, value: round(value, 2), unit, note };
}

/** PostgreSQL's WAL position in bytes: the difference is what was written in between. */
async function walBytes(stage: Stage): Promise<number> {
  const { rows } = await stage.db.query<{ b: number }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS b`,
  );
  return rows[0]!.b;
}

/** CPU time (user + system, ms) the stage's worker processes have used so far. */
function workersCpu(stage: Stage): number {
  return stage.running.reduce((sum, w) => sum + cpuMs(w.child.pid!), 0);
}

async function openStage(
  pg: DisposablePostgres,
  redis: DisposableRedis,
  workers: number,
): Promise<Stage> {
  const schema = `scale_${workers}_${randomBytes(3).toString('hex')}`;
  await runMigrations({ connectionString: pg.url(), schema });
  const env = {
    DATABASE_URL: pg.url(),
    WORKGATE_DB_SCHEMA: schema,
    REDIS_URL: redis.url,
    WORKGATE_QUEUE_PREFIX: `scale-${workers}`,
    WORKGATE_WORKFLOWS: BENCH_WORKFLOWS,
    LOG_LEVEL: 'warn',
  };
  const db = new Client({ connectionString: pg.url(), options: `-c search_path="${schema}"` });
  await db.connect();
  const { gateway, url } = await startGateway(env);
  return { workers, env, db, gateway, hook: `${url}/hooks/${SOURCE}`, running: [] };
}

async function closeStage(stage: Stage): Promise<void> {
  await stopWorkers(stage);
  await stage.gateway.stop();
  await stage.db.end();
}

/** The gateway with one Standard Webhooks source opening WORKFLOW, once it is ready. */
async function startGateway(
  env: Record<string, string>,
): Promise<{ gateway: AppProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-scale-'));
  const config = join(dir, 'workgate.config.yaml');
  writeFileSync(
    config,
    `webhooks:\n  sources:\n    ${SOURCE}:\n      scheme: standard-webhooks\n      secrets: ["${SECRET}"]\n      workflow: ${WORKFLOW}\n`,
  );
  const port = await freePort();
  const gateway = spawnApp('gateway', {
    ...env,
    WORKGATE_CONFIG: config,
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  void gateway.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (gateway.child.exitCode !== null)
        throw new Error(`the gateway exited: ${gateway.text.join('\n')}`);
      return fetch(`${url}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    'the gateway to be ready',
    60_000,
    100,
  );
  return { gateway, url };
}

/** Starts the stage's workers; returns once all of them consume the work queue. */
async function startWorkers(stage: Stage): Promise<void> {
  for (let i = 0; i < stage.workers; i++)
    stage.running.push(spawnApp('worker', { ...stage.env, WORKER_ID: `scale-${i}` }));
  const queue = workQueue(stage);
  try {
    await until(
      async () => {
        const exited = stage.running.find((w) => w.child.exitCode !== null);
        if (exited) throw new Error(`a worker exited: ${exited.text.join('\n')}`);
        return (await queue.getWorkersCount()) >= stage.workers;
      },
      `${stage.workers} worker(s) to consume the work queue`,
      60_000,
      100,
    );
  } finally {
    await queue.close();
  }
}

/** The stage's work queue (one shard: `queues.shards` is 1 here). */
function workQueue(stage: Stage): Queue {
  return new Queue('work', {
    connection: { url: stage.env.REDIS_URL },
    prefix: stage.env.WORKGATE_QUEUE_PREFIX,
  });
}

async function stopWorkers(stage: Stage): Promise<void> {
  await Promise.all(stage.running.splice(0).map((w) => w.stop()));
}

function loadOptions(stage: Stage, label: string, amount: number) {
  return {
    url: stage.hook,
    secret: SECRET,
    connections: CONNECTIONS,
    seconds: 60,
    amount,
    idPrefix: `${stage.env.WORKGATE_QUEUE_PREFIX}-${label}`,
  };
}

/** Events in a closed loop while the workers run, then every work they opened completed. */
async function phase(
  stage: Stage,
  label: string,
  amount: number,
): Promise<{ eventsPerSec: number; stepsPerSec: number }> {
  const report = await load(loadOptions(stage, label, amount));
  if (report.accepted !== amount)
    throw new Error(`${label}: ${report.accepted} of ${amount} events accepted`);
  const { stepsPerSec } = await completed(stage, label, report.accepted);
  return { eventsPerSec: report.acceptedPerSec, stepsPerSec };
}

/**
 * Waits until the works the `label` events opened are all COMPLETED, then reads their
 * steps' span from the ledger: first step started to last step finished.
 */
async function completed(
  stage: Stage,
  label: string,
  works: number,
): Promise<{ stepsPerSec: number }> {
  const like = `${stage.env.WORKGATE_QUEUE_PREFIX}-${label}-%`;
  await waitFor(async () => {
    const { rows } = await stage.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED' AND input->>'deliveryId' LIKE $1`,
      [like],
    );
    return rows[0]!.n === works;
  }, `${works} works of ${label} to complete`);
  const { rows } = await stage.db.query<{ steps: number; seconds: number }>(
    `SELECT count(*)::int AS steps,
            extract(epoch FROM max(s."finishedAt") - min(s."startedAt"))::float AS seconds
       FROM "Step" s JOIN "Work" w ON w.id = s."workId"
      WHERE w.input->>'deliveryId' LIKE $1 AND s.status = 'completed'`,
    [like],
  );
  const { steps, seconds } = rows[0]!;
  if (steps !== works * STEPS_PER_WORK)
    throw new Error(`${label}: ${steps} steps completed, expected ${works * STEPS_PER_WORK}`);
  return { stepsPerSec: steps / seconds };
}
