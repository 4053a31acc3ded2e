import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { EngineControl } from '@app/engine';
import { freshLedger, ledgerContext, log, REDIS_URL, startWorker } from '../lib/harness';
import { roundTripFloor } from '../lib/floor';
import { round, summarize } from '../lib/stats';
import { type Row } from './engine.scenarios';

/** The workflow each durability mode runs: the same three trivial steps. */
const KINDS = { step: 'bench.three-steps', batched: 'bench.three-steps-batched' } as const;
type Mode = keyof typeof KINDS;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/**
 * "Three-step run, one after another": one work at a time, each started once the one
 * before it has completed, so every figure is one lone run's latency with an idle
 * worker waiting for it. Start → COMPLETED is PostgreSQL's clock (Work.createdAt, the
 * start transaction's, to finishedAt); the phases between come from the timestamps
 * the run leaves — the work queue's event stream (job added, job active: Redis's
 * clock), the `claimed` timeline entry and the Step rows (the worker's and
 * PostgreSQL's clocks, all this machine's one clock). A `step` step's row is stamped by
 * statements — started by the one that starts it, finished by the one that checkpoints
 * it, which starts the next step too — so its phase holds its body and that next round
 * trip, and the gaps between steps are 0; a `batched` step's row holds its body's own
 * start and end (the worker's clock), and its commit is in the last phase.
 */
export async function sequentialRuns(opts: { works: number; warm: number }): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of ['step', 'batched'] as const) rows.push(...(await sequentialIn(mode, opts)));
  // What a commit costs here, in the same run: a `step` run makes several one after
  // another (start, claim, a checkpoint per step, the completion), so its p50 is at
  // least that many of these.
  const ledger = await freshLedger('seq_floor');
  try {
    const floor = await roundTripFloor(ledger.db, REDIS_URL, opts.works);
    rows.push({
      scenario: 'three-step run, one after another',
      metric: 'bare commit round trip p50',
      value: round(floor.commit.p50, 2),
      unit: 'ms',
      note: `a one-row INSERT in autocommit, p99 ${round(floor.commit.p99, 2)}; SELECT 1 p50 ${round(floor.read.p50, 2)}, Redis SET p50 ${round(floor.redis.p50, 2)} ms`,
    });
  } finally {
    await ledger.drop();
  }
  return rows;
}

async function sequentialIn(mode: Mode, opts: { works: number; warm: number }): Promise<Row[]> {
  const ledger = await freshLedger(`seq_${mode}`);
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  const worker = await startWorker(ledger.schema, ledger.prefix);
  // The job's completion, pushed by Redis (no polling on the path being measured).
  const events = new QueueEvents('work', { connection: { url: REDIS_URL }, prefix: ledger.prefix });
  try {
    await events.waitUntilReady();
    const control = ctx.get(EngineControl, { strict: false });
    log(`three-step run, one after another (${mode}): ${opts.works} works`);
    const ids: string[] = [];
    for (let i = 0; i < opts.warm + opts.works; i++) {
      let workId = '';
      const done = new Promise<void>((resolve) => {
        const onDone = ({ jobId }: { jobId: string }) => {
          if (!workId || !jobId.includes(workId)) return;
          events.off('completed', onDone);
          resolve();
        };
        events.on('completed', onDone);
      });
      workId = (await control.start(KINDS[mode], { i }, { actor: 'bench' })).workId!;
      await done;
      if (i >= opts.warm) ids.push(workId);
    }
    return await phases(ledger.db, ledger.prefix, mode, ids);
  } finally {
    await events.close();
    await worker.stop();
    await ctx.close();
    await ledger.drop();
  }
}

interface Queryable {
  query<T = any>(text: string, values?: unknown[]): Promise<{ rows: T[] }>;
}

/** The per-phase breakdown of the measured runs (p50 of each phase, p50/p99 of the whole). */
async function phases(db: Queryable, prefix: string, mode: Mode, ids: string[]): Promise<Row[]> {
  const stream = await queueStream(prefix);
  const { rows } = await db.query<{
    id: string;
    created: number;
    finished: number;
    claimed: number;
    steps: Array<{ s: number; f: number }>;
  }>(
    `SELECT w.id, extract(epoch FROM w."createdAt")::float8 * 1000 AS created,
            extract(epoch FROM w."finishedAt")::float8 * 1000 AS finished,
            (SELECT extract(epoch FROM min(e.at))::float8 * 1000 FROM "WorkEvent" e WHERE e."workId" = w.id AND e.type = 'claimed') AS claimed,
            (SELECT json_agg(json_build_object('s', extract(epoch FROM s."startedAt") * 1000, 'f', extract(epoch FROM s."finishedAt") * 1000) ORDER BY s.seq)
               FROM "Step" s WHERE s."workId" = w.id) AS steps
     FROM "Work" w WHERE w.id = ANY($1::uuid[])`,
    [ids],
  );
  const phase = new Map<string, number[]>();
  const add = (name: string, ms: number) => phase.set(name, [...(phase.get(name) ?? []), ms]);
  for (const r of rows) {
    const [one, two, three] = r.steps;
    const added = stream.get(`${r.id}:added`);
    const active = stream.get(`${r.id}:active`);
    if (added !== undefined && active !== undefined) {
      add('start tx begins → job added (start commit, enqueue)', added - r.created);
      add('job added → picked up', active - added);
      add('picked up → claim decided (first read)', r.claimed - active);
    }
    if (!one || !two || !three) continue;
    add('claim decided → step 1 starts (claim write)', one.s - r.claimed);
    add('step 1', one.f - one.s);
    add('step 1 → step 2', two.s - one.f);
    add('step 2', two.f - two.s);
    add('step 2 → step 3', three.s - two.f);
    add('step 3', three.f - three.s);
    add('step 3 → COMPLETED (checkpoint, completion)', r.finished - three.f);
  }
  const total = summarize(rows.map((r) => Number(r.finished) - Number(r.created)));
  const scenario = `three-step run, one after another (${mode})`;
  return [
    { scenario, metric: 'start → COMPLETED p50', value: round(total.p50, 2), unit: 'ms' },
    { scenario, metric: 'start → COMPLETED p99', value: round(total.p99, 2), unit: 'ms' },
    ...[...phase].map(([name, samples]) => ({
      scenario,
      metric: `${name} p50`,
      value: round(summarize(samples).p50, 2),
      unit: 'ms',
      note: `p99 ${round(summarize(samples).p99, 2)}`,
    })),
  ];
}

/** `<workId>:added` / `<workId>:active` → the work job's event time (Redis stream ids, ms). */
async function queueStream(prefix: string): Promise<Map<string, number>> {
  const redis = new Redis(REDIS_URL);
  try {
    const entries = await redis.xrange(`${prefix}:work:events`, '-', '+');
    const out = new Map<string, number>();
    for (const [id, fields] of entries) {
      const event = fields[fields.indexOf('event') + 1];
      const jobId = fields[fields.indexOf('jobId') + 1] ?? '';
      const workId = UUID.exec(jobId)?.[0];
      if (!workId || (event !== 'added' && event !== 'active')) continue;
      const key = `${workId}:${event}`;
      if (!out.has(key)) out.set(key, Number(id.split('-')[0]));
    }
    return out;
  } finally {
    redis.disconnect();
  }
}
