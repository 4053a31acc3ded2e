import { type Client } from 'pg';
import { EngineControl } from '@app/engine';
import { deleteKeys } from '../../test/support/redis';
import { freshLedger, ledgerContext, log, REDIS_URL, startWorker, waitFor } from '../lib/harness';
import { round, summarize } from '../lib/stats';
import { type Row } from './engine.scenarios';
import { count, startAll } from './scale.scenarios';

/**
 * N sleepers that are all asleep at once, firing at a fixed rate: lateness of the timer
 * (wake handler, from the ledger's `timer_fired`) and of the resume (the step after the
 * sleep starts). Each sleeps until an absolute instant after every sleeper has been
 * started, so N is the real number of pending timers, whatever starting them cost.
 */
export async function timersAtScale(opts: { sleeps: number; ratePerSec: number }): Promise<Row[]> {
  const ledger = await freshLedger('timers');
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  const worker = await startWorker(ledger.schema, ledger.prefix);
  try {
    // Starting costs about 3-4 ms of worker time per sleeper here (its first run opens
    // the timer); the first timer falls due after a margin on top.
    const firstAt = Date.now() + 4_000 + opts.sleeps * 4;
    const windowMs = (opts.sleeps / opts.ratePerSec) * 1000;
    log(
      `timers: ${opts.sleeps} sleepers, firing at ${opts.ratePerSec}/s from +${firstAt - Date.now()} ms`,
    );
    await startAll(
      ctx.get(EngineControl, { strict: false }),
      'bench.sleep-until',
      Array.from({ length: opts.sleeps }, () => ({
        at: Math.round(firstAt + Math.random() * windowMs),
      })),
    );
    await waitFor(
      async () =>
        Date.now() >= firstAt - 50 ||
        (await count(
          ledger.db,
          `SELECT count(*)::int AS n FROM "Wait" WHERE type = 'timer' AND status = 'open'`,
        )) === opts.sleeps,
      'every sleeper to be asleep',
    );
    const pending = await count(
      ledger.db,
      `SELECT count(*)::int AS n FROM "Wait" WHERE type = 'timer' AND status = 'open'`,
    );
    const headroomMs = firstAt - Date.now();
    log(`timers: ${pending} asleep, ${Math.round(headroomMs)} ms before the first is due`);
    await waitFor(
      async () =>
        (await count(
          ledger.db,
          `SELECT count(*)::int AS n FROM "Work" WHERE state IN ('COMPLETED', 'FAILED')`,
        )) === opts.sleeps,
      'every sleeper to finish',
    );
    return await lateness(ledger.db, opts, pending);
  } finally {
    await worker.stop();
    await ctx.close();
    await ledger.drop();
    await deleteKeys(ledger.prefix, REDIS_URL);
  }
}

/** Fire and resume lateness of every fired timer, from the ledger once all are done. */
async function lateness(
  db: Client,
  opts: { sleeps: number; ratePerSec: number },
  pending: number,
): Promise<Row[]> {
  const { rows } = await db.query<{ late: number; resume: number }>(
    `SELECT (e.data->>'lateMs')::float AS late,
       extract(epoch FROM s."startedAt" - wt."timeoutAt") * 1000 AS resume
     FROM "WorkEvent" e
     JOIN "Wait" wt ON wt.id = (e.data->>'waitId')::uuid
     JOIN "Step" s ON s."workId" = e."workId" AND s.name = 'after'
     WHERE e.type = 'timer_fired'`,
  );
  const late = rows.map((r) => Number(r.late));
  const resume = rows.map((r) => Number(r.resume));
  const s = summarize(late);
  const r = summarize(resume);
  // Fused: the wake job claimed the work in the fire's own transaction (the same xmin on
  // both timeline entries) and ran it; the rest went through a run job.
  const fused = await count(
    db,
    `SELECT count(*)::int AS n FROM "WorkEvent" f JOIN "WorkEvent" c
       ON c."workId" = f."workId" AND c.seq = f.seq + 1 AND c.type = 'claimed'
     WHERE f.type = 'timer_fired' AND f.xmin = c.xmin`,
  );
  return [
    {
      scenario: 'timers',
      metric: 'lateness p50',
      value: round(s.p50),
      unit: 'ms',
      note: `${opts.sleeps} concurrent sleeps (${pending} pending at the first due), firing at ${opts.ratePerSec}/s`,
    },
    { scenario: 'timers', metric: 'lateness p99', value: round(s.p99), unit: 'ms' },
    { scenario: 'timers', metric: 'lateness max', value: round(s.max), unit: 'ms' },
    {
      scenario: 'timers',
      metric: 'early fires',
      value: late.filter((l) => l < 0).length + resume.filter((l) => l < 0).length,
      unit: 'count',
      note: 'must be 0 (a failure otherwise)',
      mustBe: 0,
    },
    {
      scenario: 'timers',
      metric: 'resume lateness p50 / p99',
      value: round(r.p99),
      unit: 'ms',
      note: `p50 ${round(r.p50)} ms: due → the step after the sleep starts (wake + claim + replay)`,
    },
    { scenario: 'timers', metric: 'resume lateness max', value: round(r.max), unit: 'ms' },
    {
      scenario: 'timers',
      metric: 'claimed by the wake job',
      value: fused,
      unit: 'count',
      note: `of ${late.length} fired: fire+claim in one transaction, no run job`,
    },
    {
      scenario: 'timers',
      metric: 'fired',
      value: late.length,
      unit: 'count',
      note: `of ${opts.sleeps}`,
    },
  ];
}
