import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './env';
import { DIST } from './paths';
import { type AppProcess, spawnApp } from './processes';

export const FAULT_WORKFLOWS = join(DIST, 'test', 'support', 'workflows', 'fault.workflows.js');

/** Writes a config file for worker processes with short leases and reconcile passes. */
export function writeWorkerConfig(
  opts: { lease?: string; reconcileEvery?: string; concurrency?: number; extra?: string } = {},
): string {
  const dir = mkdtempSync(join(tmpdir(), 'wg-fault-'));
  const path = join(dir, 'workgate.config.yaml');
  writeFileSync(
    path,
    [
      'worker:',
      `  lease: ${opts.lease ?? '2s'}`,
      `  reconcileEvery: ${opts.reconcileEvery ?? '300ms'}`,
      `  concurrency: ${opts.concurrency ?? 4}`,
      opts.extra ?? '',
    ].join('\n'),
  );
  return path;
}

/** A real worker process on the test's schema and Redis prefix, running the fault workflows. */
export function spawnWorker(opts: {
  schema: string;
  prefix: string;
  configPath: string;
  name: string;
  /** More environment (e.g. WORKGATE_WORKER_HEALTH_PORT). */
  env?: Record<string, string>;
}): AppProcess {
  return spawnApp('worker', {
    DATABASE_URL: TEST_DATABASE_URL,
    WORKGATE_DB_SCHEMA: opts.schema,
    REDIS_URL: TEST_REDIS_URL,
    WORKGATE_QUEUE_PREFIX: opts.prefix,
    WORKGATE_CONFIG: opts.configPath,
    WORKGATE_WORKFLOWS: FAULT_WORKFLOWS,
    WORKER_ID: opts.name,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    ...opts.env,
  });
}

export async function workerStarted(worker: AppProcess): Promise<void> {
  await worker.waitForLog((l) => l.msg === 'worker started', 'that it started', 20_000);
}
