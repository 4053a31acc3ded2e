import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { EngineControl } from '@app/engine';
import { freshLedger, ledgerContext, log, REDIS_URL, startWorker, waitFor } from '../lib/harness';
import { round, summarize } from '../lib/stats';

export interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  note?: string;
  /** A guarantee, not a speed: any other value fails the run (run.ts exits 1). */
  mustBe?: number;
}

const PLAIN_WORKER = join(__dirname, '..', 'plain-bullmq-worker.js');

async function startMany(
  control: EngineControl,
  kind: string,
  inputs: unknown[],
  batch = 50,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < inputs.length; i += batch) {
    const started = await Promise.all(
      inputs.slice(i, i + batch).map((input) => control.start(kind, input, { actor: 'bench' })),
    );
    ids.push(...started.map((s) => s.workId!));
  }
  return ids;
}

async function plainWorker(queue: string, prefix: string, concurrency: number) {
  const child = spawn(process.execPath, [PLAIN_WORKER, queue, prefix, String(concurrency)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, REDIS_URL },
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`plain worker exited ${code}`)));
  });
  return child;
}

/**
 * Durable steps per second against plain BullMQ jobs per second, same Redis, same
 * concurrency, in one run: N works of three trivial steps in each durability mode
 * (queued before the worker starts, so the figure is execution, not ingest) against 3N
 * no-op jobs.
 */
export async function durableSteps(opts: { works: number; concurrency: number }): Promise<Row[]> {
  const step = await durableRun('bench.three-steps', opts);
  const batched = await durableRun('bench.three-steps-batched', opts);
  const jobsPerSec = await plainJobs(3 * opts.works, opts.concurrency);
  const note = `concurrency ${opts.concurrency}, ${opts.works} works`;
  const scenario = 'durable steps';
  const modeRows = (
    mode: string,
    r: { stepsPerSec: number; runMs: { p50: number; p99: number } },
  ) => [
    {
      scenario,
      metric: `steps/s (3-step workflow, ${mode})`,
      value: round(r.stepsPerSec),
      unit: '/s',
      note,
    },
    {
      scenario,
      metric: `claim → completed per work p50 / p99 (${mode})`,
      value: round(r.runMs.p50),
      unit: 'ms',
      note: `p99 ${round(r.runMs.p99)} ms`,
    },
    {
      scenario,
      metric: `ratio durable / plain (${mode})`,
      value: round(r.stepsPerSec / jobsPerSec, 3),
      unit: '×',
    },
  ];
  return [
    ...modeRows('step', step),
    ...modeRows('batched', batched),
    {
      scenario,
      metric: 'plain BullMQ jobs/s',
      value: round(jobsPerSec),
      unit: '/s',
      note: 'same Redis, same concurrency',
    },
  ];
}

/** N works of `kind` run by a fresh worker: steps/s over the whole run, and each work's claim → completed. */
async function durableRun(kind: string, opts: { works: number; concurrency: number }) {
  const ledger = await freshLedger('steps');
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  try {
    log(`durable steps: queueing ${opts.works} works of 3 steps (${kind})`);
    await startMany(
      ctx.get(EngineControl, { strict: false }),
      kind,
      Array.from({ length: opts.works }, () => ({})),
    );
    const worker = await startWorker(ledger.schema, ledger.prefix, {
      WORKER_CONCURRENCY: String(opts.concurrency),
    });
    await waitFor(
      async () =>
        (await ledger.db.query(`SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED'`))
          .rows[0].n === opts.works,
      'every bench work to complete',
    );
    const { rows } = await ledger.db.query(
      `SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'completed') - min(at) FILTER (WHERE type = 'claimed')) * 1000 AS ms FROM "WorkEvent"`,
    );
    const perWork = await ledger.db.query<{ ms: number }>(
      `SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'completed') - min(at) FILTER (WHERE type = 'claimed')) * 1000 AS ms
       FROM "WorkEvent" GROUP BY "workId"`,
    );
    await worker.stop();
    return {
      stepsPerSec: (3 * opts.works) / (Number(rows[0].ms) / 1000),
      runMs: summarize(perWork.rows.map((r) => Number(r.ms))),
    };
  } finally {
    await ctx.close();
    await ledger.drop();
  }
}

/** `jobs` no-op BullMQ jobs, queued first, run by the plain worker: jobs/s from first to last. */
async function plainJobs(jobs: number, concurrency: number): Promise<number> {
  const prefix = `bench-plain-${process.pid}-${Date.now()}`;
  log(`plain BullMQ: ${jobs} jobs`);
  const queue = new Queue('plain', { connection: { url: REDIS_URL }, prefix });
  try {
    for (let i = 0; i < jobs; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, jobs - i) }, () => ({ name: 'noop', data: {} })),
      );
    }
    const plain = await plainWorker('plain', prefix, concurrency);
    await waitFor(
      async () => (await queue.getJobCounts('completed')).completed === jobs,
      'every plain job to complete',
    );
    const done = await queue.getJobs(['completed'], 0, -1);
    const first = Math.min(...done.map((j) => j.processedOn ?? Infinity));
    const last = Math.max(...done.map((j) => j.finishedOn ?? 0));
    plain.kill('SIGTERM');
    return jobs / ((last - first) / 1000);
  } finally {
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** Work start → first step, at a steady offered rate, against plain BullMQ add → process. */
export async function startLatency(opts: { rate: number; seconds: number }): Promise<Row[]> {
  const ledger = await freshLedger('latency');
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  const worker = await startWorker(ledger.schema, ledger.prefix);
  try {
    const control = ctx.get(EngineControl, { strict: false });
    const total = opts.rate * opts.seconds;
    const startAll = async (n: number, phase: string) => {
      await paced(n, opts.rate, () =>
        control.start('bench.three-steps', { phase }, { actor: 'bench' }),
      );
      await waitFor(
        async () =>
          (
            await ledger.db.query(
              `SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED' AND input->>'phase' = $1`,
              [phase],
            )
          ).rows[0].n === n,
        `every ${phase} work to complete`,
      );
    };
    // Warm-up (JIT, pool connections, the worker's first claims): one second, not counted.
    await startAll(opts.rate, 'warm');
    log(`start → first step: ${total} works at ${opts.rate}/s`);
    await startAll(total, 'measured');
    const { rows } = await ledger.db.query<{ ms: number }>(
      `SELECT extract(epoch FROM s."startedAt" - w."createdAt") * 1000 AS ms
       FROM "Work" w JOIN "Step" s ON s."workId" = w.id AND s.seq = 1
       WHERE w.input->>'phase' = 'measured'`,
    );
    const durable = summarize(rows.map((r) => Number(r.ms)));
    await worker.stop();

    const queue = new Queue('plain-latency', {
      connection: { url: REDIS_URL },
      prefix: ledger.prefix,
    });
    const plain = await plainWorker('plain-latency', ledger.prefix, 8);
    await paced(total, opts.rate, () => queue.add('noop', {}));
    await waitFor(
      async () => (await queue.getJobCounts('completed')).completed === total,
      'every plain job to complete',
    );
    const jobs = await queue.getJobs(['completed'], 0, -1);
    const base = summarize(jobs.map((j) => (j.processedOn ?? 0) - j.timestamp));
    plain.kill('SIGTERM');
    await queue.obliterate({ force: true });
    await queue.close();
    return [
      {
        scenario: 'start → first step',
        metric: 'p50',
        value: round(durable.p50),
        unit: 'ms',
        note: `${opts.rate}/s offered`,
      },
      { scenario: 'start → first step', metric: 'p99', value: round(durable.p99), unit: 'ms' },
      {
        scenario: 'start → first step',
        metric: 'plain BullMQ add → process p50',
        value: round(base.p50),
        unit: 'ms',
      },
      {
        scenario: 'start → first step',
        metric: 'plain BullMQ add → process p99',
        value: round(base.p99),
        unit: 'ms',
      },
    ];
  } finally {
    await worker.stop();
    await ctx.close();
    await ledger.drop();
  }
}

/** Calls `fn` `total` times at `rate` per second (open loop: does not wait for answers to send the next). */
export async function paced(
  total: number,
  rate: number,
  fn: () => Promise<unknown>,
): Promise<void> {
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(fn());
  }
  await Promise.all(pending);
}
