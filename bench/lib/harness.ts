import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { type INestApplicationContext } from '@nestjs/common';
import { type AppConfig, loadConfig } from '@app/config';
import { runMigrations } from '@app/ledger';
import { createLedgerContext } from '../../test/support/ledger';
import { type AppProcess, spawnApp } from '../../test/support/processes';
import { until } from '../../test/support/until';

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/workgate_bench';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BENCH_WORKFLOWS = join(__dirname, '..', 'workflows', 'bench.workflows.js');

export function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/**
 * CHECKPOINT: what was written so far goes to disk now, not in the middle of the next
 * measurement (the kernel writes dirty pages back 30 s after they were written, and a
 * commit's WAL flush waits behind it). Needs superuser or pg_checkpoint (PostgreSQL
 * 15+); without them the run goes on.
 */
export async function checkpoint(db: Client, what: string): Promise<void> {
  await db.query('CHECKPOINT').catch((err: Error) => log(`no CHECKPOINT ${what}: ${err.message}`));
}

/** A fresh, migrated schema and Redis prefix for one scenario. */
export async function freshLedger(
  label: string,
): Promise<{ schema: string; prefix: string; db: Client; drop(): Promise<void> }> {
  const dbName = new URL(BENCH_DATABASE_URL).pathname.slice(1);
  const admin = new Client({
    connectionString: BENCH_DATABASE_URL.replace(/\/[^/?]+(\?|$)/, '/postgres$1'),
  });
  await admin.connect();
  if (!(await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount)
    await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const schema = `bench_${label}_${randomBytes(3).toString('hex')}`;
  await runMigrations({ connectionString: BENCH_DATABASE_URL, schema });
  const db = new Client({
    connectionString: BENCH_DATABASE_URL,
    options: `-c search_path="${schema}"`,
  });
  await db.connect();
  // A checkpoint now, so the WAL the previous scenario wrote (and the schema it dropped)
  // is not flushed in the middle of this one's measurement.
  await checkpoint(db, `before ${label}`);
  return {
    schema,
    prefix: `bench-${randomBytes(3).toString('hex')}`,
    db,
    async drop() {
      await db.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
      await db.end();
    },
  };
}

export function benchConfig(
  schema: string,
  prefix: string,
  overrides: Record<string, unknown> = {},
): AppConfig {
  return loadConfig({
    env: {
      DATABASE_URL: BENCH_DATABASE_URL,
      WORKGATE_DB_SCHEMA: schema,
      REDIS_URL,
      WORKGATE_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '20',
    },
    path: null,
    overrides,
  });
}

export async function ledgerContext(
  schema: string,
  prefix: string,
): Promise<INestApplicationContext> {
  return createLedgerContext(benchConfig(schema, prefix));
}

/** A real worker process on the bench schema, running the bench workflows. */
export async function startWorker(
  schema: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<AppProcess> {
  const worker = spawnApp('worker', { ...appEnv(schema, prefix), ...env });
  // Ready when its BullMQ workers have registered with Redis (logs are off in benchmarks).
  const queue = new Queue('work', { connection: { url: REDIS_URL }, prefix });
  try {
    await until(
      async () => (await queue.getWorkersCount()) > 0 || worker.child.exitCode !== null,
      'the worker to connect',
      30_000,
      100,
    );
  } finally {
    await queue.close();
  }
  if (worker.child.exitCode !== null)
    throw new Error(`the worker exited: ${worker.text.join('\n')}`);
  return worker;
}

/**
 * What every app process the bench starts gets: the bench schema and Redis prefix, the
 * bench workflows, logs at warn (a log line per event is LOG_LEVEL's cost, not the
 * figure's), a pool of 20, and CPU profiles when asked for.
 */
function appEnv(schema: string, prefix: string): Record<string, string> {
  return {
    DATABASE_URL: BENCH_DATABASE_URL,
    WORKGATE_DB_SCHEMA: schema,
    REDIS_URL,
    WORKGATE_QUEUE_PREFIX: prefix,
    WORKGATE_WORKFLOWS: BENCH_WORKFLOWS,
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '20',
    ...profileEnv(),
  };
}

/** A real gateway process on the bench schema, on a free loopback port, once /health/ready answers. */
export async function startGatewayProcess(
  schema: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ app: AppProcess; url: string }> {
  const port = await freePort();
  const app = spawnApp('gateway', {
    ...appEnv(schema, prefix),
    PORT: String(port),
    HOST: '127.0.0.1',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (app.child.exitCode !== null)
        throw new Error(`the gateway exited: ${app.text.join('\n')}`);
      return fetch(`${url}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    'the gateway to be ready',
    30_000,
    100,
  );
  return { app, url };
}

/** A free loopback port (the OS picks; the gateway binds it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `BENCH_PROFILE=<dir>`: the processes the bench starts write V8 CPU profiles there
 * (open them in Chrome DevTools or speedscope) — where a figure's time goes.
 */
export function profileEnv(): Record<string, string> {
  const dir = process.env.BENCH_PROFILE;
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {};
}

export async function waitFor(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs = 300_000,
): Promise<void> {
  await until(probe, what, timeoutMs, 100);
}
