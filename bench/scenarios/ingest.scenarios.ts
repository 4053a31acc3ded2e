import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LoadOptions, type LoadReport } from '../load/webhook-load';
import { freshLedger, log, startGatewayProcess, startWorker, waitFor } from '../lib/harness';
import { round, summarize } from '../lib/stats';
import { type AppProcess } from '../../test/support/processes';
import { type Row } from './engine.scenarios';

const LOAD = join(__dirname, '..', 'load', 'webhook-load.js');
export const SECRET = 'whsec_d29ya2dhdGUtYmVuY2gtb25seS1zZWNyZXQ=';
export const SOURCE = 'bench';
const CONNECTIONS = 32;
const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * The real gateway process on the bench schema, with one Standard Webhooks source that
 * opens `workflow` for every delivery. Logs at warn, as the bench worker does: the
 * per-event info line is part of what `LOG_LEVEL=info` costs, not of ingest.
 */
export async function startBenchGateway(
  schema: string,
  prefix: string,
  workflow: string,
): Promise<{ gateway: AppProcess; url: string; done(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-bench-'));
  writeFileSync(
    join(dir, 'workgate.config.yaml'),
    `webhooks:\n  sources:\n    ${SOURCE}:\n      scheme: standard-webhooks\n      secrets: ["${SECRET}"]\n      workflow: ${workflow}\n`,
  );
  const { app: gateway, url } = await startGatewayProcess(schema, prefix, {
    WORKGATE_CONFIG: join(dir, 'workgate.config.yaml'),
    ...(process.env.BENCH_GATEWAY_LOG_LEVEL
      ? { LOG_LEVEL: process.env.BENCH_GATEWAY_LOG_LEVEL }
      : {}),
  });
  return {
    gateway,
    url,
    async done() {
      await gateway.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function load(opts: LoadOptions): Promise<LoadReport> {
  const { stdout } = await promisify(execFile)(process.execPath, [LOAD, JSON.stringify(opts)], {
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as LoadReport;
}

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat, fields 14 and 15). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
}

async function eventCount(db: {
  query(sql: string): Promise<{ rows: Array<{ n: number }> }>;
}): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM "InboundEvent"`)).rows[0]!.n;
}

function rejectedNote(report: LoadReport): string {
  const bad = Object.entries(report.rejected).map(([s, n]) => `${n}×${s}`);
  if (report.errors) bad.push(`${report.errors} errors (${report.timeouts} timeouts)`);
  return bad.length ? `NOT ACCEPTED: ${bad.join(', ')}` : 'every request 202';
}

/**
 * Signed webhooks against the real gateway process (202 = committed and enqueued).
 * Phases, each checked against the ledger (rows added = 202s counted):
 * 1. the offered `rate` with the worker running, as a deployment runs: p50/p99;
 * 2. closed loop (CONNECTIONS connections) with the worker running: sustained events/s;
 * 3. closed loop with the worker stopped: what the gateway alone sustains.
 * Gateway CPU per event comes from /proc/<pid>/stat over each phase.
 */
export async function ingest(opts: {
  rate: number;
  seconds: number;
  /** Requests in each closed-loop phase (a fixed amount, so the ledger check is exact). */
  amount: number;
}): Promise<Row[]> {
  const ledger = await freshLedger('ingest');
  const gw = await startBenchGateway(ledger.schema, ledger.prefix, 'bench.one-step');
  let worker: AppProcess | null = await startWorker(ledger.schema, ledger.prefix);
  const pid = gw.gateway.child.pid!;
  const hook = `${gw.url}/hooks/${SOURCE}`;
  let phaseNo = 0;
  const phase = async (what: string, extra: Partial<LoadOptions>) => {
    const before = await eventCount(ledger.db);
    const cpuBefore = cpuMs(pid);
    log(`ingest: ${what}`);
    const report = await load({
      url: hook,
      secret: SECRET,
      connections: CONNECTIONS,
      seconds: opts.seconds,
      idPrefix: `${ledger.prefix}-${phaseNo++}`,
      ...extra,
    });
    const cpu = cpuMs(pid) - cpuBefore;
    const added = (await eventCount(ledger.db)) - before;
    if (added !== report.accepted)
      throw new Error(`${what}: ${report.accepted} answered 202 but the ledger holds ${added}`);
    log(`ingest: ${what}: ${JSON.stringify(report)}, gateway CPU ${Math.round(cpu)} ms`);
    return { report, cpuPerEvent: report.accepted ? cpu / report.accepted : Number.NaN };
  };
  try {
    // Warm-up (JIT, pools, prepared plans); not counted.
    await phase('warm-up', { amount: Math.min(opts.amount, 2_000) });
    const paced = await phase(`${opts.rate}/s offered, worker running`, {
      rate: opts.rate,
      amount: opts.rate * opts.seconds,
    });
    const closed = await phase('closed loop, worker running', { amount: opts.amount });
    await worker.stop();
    worker = null;
    const alone = await phase('closed loop, worker stopped', { amount: opts.amount });
    const rows: Row[] = [
      {
        scenario: 'ingest',
        metric: `p50 at ${opts.rate}/s`,
        value: paced.report.latency.p50,
        unit: 'ms',
        note: `achieved ${paced.report.sentPerSec}/s, worker running; ${rejectedNote(paced.report)}`,
      },
      {
        scenario: 'ingest',
        metric: `p99 at ${opts.rate}/s`,
        value: paced.report.latency.p99,
        unit: 'ms',
      },
      {
        scenario: 'ingest',
        metric: `gateway CPU per event at ${opts.rate}/s`,
        value: round(paced.cpuPerEvent, 2),
        unit: 'ms',
        note: '/proc/<pid>/stat utime+stime',
      },
      {
        scenario: 'ingest',
        metric: 'sustained events/s (worker running)',
        value: closed.report.acceptedPerSec,
        unit: '/s',
        note: `${CONNECTIONS} connections, ${closed.report.accepted} events, p99 ${closed.report.latency.p99} ms; ${rejectedNote(closed.report)}`,
      },
      {
        scenario: 'ingest',
        metric: 'sustained events/s (worker stopped)',
        value: alone.report.acceptedPerSec,
        unit: '/s',
        note: `${CONNECTIONS} connections, p99 ${alone.report.latency.p99} ms; ${rejectedNote(alone.report)}`,
      },
      {
        scenario: 'ingest',
        metric: 'gateway CPU per event (closed loop, worker stopped)',
        value: round(alone.cpuPerEvent, 2),
        unit: 'ms',
      },
    ];
    return rows;
  } finally {
    await worker?.stop();
    await gw.done();
    await ledger.drop();
  }
}

/**
 * Webhook arrival → the opened workflow's first step starting, at a steady offered rate,
 * read from the ledger: InboundEvent.receivedAt (set in the ingest transaction) to
 * Step seq 1 startedAt (set when the worker starts it); both are PostgreSQL's clock.
 */
export async function firstStep(opts: { rate: number; seconds: number }): Promise<Row[]> {
  const ledger = await freshLedger('firststep');
  const gw = await startBenchGateway(ledger.schema, ledger.prefix, 'bench.one-step');
  const worker = await startWorker(ledger.schema, ledger.prefix);
  try {
    const run = async (label: string, seconds: number) => {
      const report = await load({
        url: `${gw.url}/hooks/${SOURCE}`,
        secret: SECRET,
        connections: CONNECTIONS,
        seconds,
        rate: opts.rate,
        amount: opts.rate * seconds,
        idPrefix: `${ledger.prefix}-${label}`,
      });
      await waitFor(
        async () =>
          (
            await ledger.db.query(
              `SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED' AND input->>'deliveryId' LIKE $1`,
              [`${ledger.prefix}-${label}-%`],
            )
          ).rows[0].n === report.accepted,
        'every opened work to complete',
      );
      return report;
    };
    // Warm-up (JIT, pool connections, the worker's first claims): not counted.
    await run('warm', 1);
    log(`event → first step: ${opts.rate * opts.seconds} webhooks at ${opts.rate}/s`);
    const report = await run('m', opts.seconds);
    const { rows } = await ledger.db.query<{ ms: number }>(
      `SELECT extract(epoch FROM s."startedAt" - e."receivedAt") * 1000 AS ms
       FROM "InboundEvent" e JOIN "Step" s ON s."workId" = e."workId" AND s.seq = 1
       WHERE e.body->>'deliveryId' LIKE $1`,
      [`${ledger.prefix}-m-%`],
    );
    if (rows.length !== report.accepted)
      throw new Error(`${report.accepted} answered 202 but ${rows.length} works started a step`);
    const s = summarize(rows.map((r) => Number(r.ms)));
    return [
      {
        scenario: 'event → first step',
        metric: 'p50',
        value: round(s.p50),
        unit: 'ms',
        note: `${opts.rate}/s offered, achieved ${report.sentPerSec}/s; ${rejectedNote(report)}`,
      },
      { scenario: 'event → first step', metric: 'p99', value: round(s.p99), unit: 'ms' },
      {
        scenario: 'event → first step',
        metric: 'webhook answer p99 (client)',
        value: report.latency.p99,
        unit: 'ms',
      },
    ];
  } finally {
    await worker.stop();
    await gw.done();
    await ledger.drop();
  }
}
