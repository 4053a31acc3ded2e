import { Redis } from 'ioredis';
import { type Client } from 'pg';
import { SCHEMES } from '@app/channels/webhook';
import { EngineControl } from '@app/engine';
import { IngestService } from '@app/ledger';
import { deleteKeys } from '../../test/support/redis';
import {
  checkpoint,
  freshLedger,
  ledgerContext,
  log,
  REDIS_URL,
  startGatewayProcess,
  startWorker,
  waitFor,
} from '../lib/harness';
import { roundTripFloor } from '../lib/floor';
import { addAppendix, rssMiB, uuidSql, writeConfigFile } from '../lib/scale-harness';
import { round, summarize } from '../lib/stats';
import { paced, type Row } from './engine.scenarios';

export const count = async (db: Client, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await db.query<{ n: number }>(sql, params)).rows[0]!.n);

/** Starts works through EngineControl (the API's path), `batch` at a time. */
export async function startAll(
  control: EngineControl,
  kind: string,
  inputs: unknown[],
  batch = 100,
): Promise<void> {
  for (let i = 0; i < inputs.length; i += batch)
    await Promise.all(
      inputs.slice(i, i + batch).map((input) => control.start(kind, input, { actor: 'bench' })),
    );
}

const BENCH_SECRET = 'whsec_d29ya2dhdGUtYmVuY2gtc2NhbGUtc2VjcmV0LTE=';
const KEY_HEADER = 'x-bench-key';

/**
 * Inserts `n` works of `bench.waiter` exactly as a real run leaves them after
 * `ctx.waitFor({ match })` — the opening InboundEvent, the Work (WAITING), its running
 * wait Step, the open Wait with its correlation key and three timeline entries — in
 * bulk SQL (generate_series): running 100 000 workflows would measure the engine, not
 * the waiting. Works `from`..`from+n-1`; work i waits on `bench:w-<i>`.
 */
async function insertWaiters(db: Client, from: number, n: number): Promise<void> {
  const chunk = 20_000;
  for (let lo = from; lo < from + n; lo += chunk) {
    const hi = Math.min(from + n, lo + chunk) - 1;
    const ids = (tag: string) => uuidSql(`'${tag}' || i`);
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO "Work" (id, kind, state, "sourceType", "sourceId", input, attempt, "retryPolicy", "runSeq",
         "leaseToken", "lastHeartbeatAt", "checkpointSeq", "waitReason", version, "createdAt", "updatedAt")
       SELECT ${ids('work')}, 'bench.waiter', 'WAITING', 'api', ${ids('ev')}::text,
         jsonb_build_object('key', 'bench:w-' || i), 1,
         '{"jitter":0.2,"maxAttempts":5,"maxIntervalMs":300000,"initialIntervalMs":1000,"backoffCoefficient":2,"nonRetryableErrors":[]}',
         1, 1, now(), 1, 'event', 2, now(), now()
       FROM generate_series($1::int, $2::int) i`,
      [lo, hi],
    );
    await db.query(
      `INSERT INTO "InboundEvent" (id, channel, source, "externalId", actor, raw, body, answer, decision, reason, "workId", "receivedAt")
       SELECT ${ids('ev')}, 'api', 'api', 'api:bulk-' || i, '{"id":"bench"}', '{}', jsonb_build_object('key', 'bench:w-' || i),
         jsonb_build_object('key', 'bench:w-' || i), 'opened', 'bench bulk insert', ${ids('work')}, now()
       FROM generate_series($1::int, $2::int) i`,
      [lo, hi],
    );
    await db.query(
      `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
       SELECT ${ids('step')}, ${ids('work')}, 1, 'waitFor:bench:w-' || i, 'wait', ${ids('work')}::text || ':1',
         'running', 1, 'bench', now()
       FROM generate_series($1::int, $2::int) i`,
      [lo, hi],
    );
    await db.query(
      `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "correlationKey", "onTimeout", "createdAt")
       SELECT ${ids('wait')}, ${ids('work')}, 1, 'event', 'open', 'bench:w-' || i, 'fail', now()
       FROM generate_series($1::int, $2::int) i`,
      [lo, hi],
    );
    await db.query(
      `INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
       SELECT ${ids('work')}, e.seq, e.type, e.data, e.actor, now()
       FROM generate_series($1::int, $2::int) i
       CROSS JOIN LATERAL (VALUES
         (1, 'created', jsonb_build_object('kind', 'bench.waiter'), 'bench'),
         (2, 'claimed', '{"to":"RUNNING","from":"QUEUED","owner":"bench"}'::jsonb, 'worker:bench'),
         (3, 'waiting', jsonb_build_object('to', 'WAITING', 'from', 'RUNNING', 'seq', 1, 'waitId', ${ids('wait')}, 'waitType', 'event'), 'worker:bench')
       ) AS e(seq, type, data, actor)`,
      [lo, hi],
    );
    await db.query('COMMIT');
  }
  await db.query('ANALYZE "InboundEvent", "Work", "Step", "Wait", "WorkEvent"');
}

/** Posts signed replies to waiters, paced (open loop); returns each 202's latency in ms. */
async function postReplies(
  url: string,
  keys: number[],
  rate: number,
  tag: string,
): Promise<{ latencies: number[]; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let n = 0;
  await paced(keys.length, rate, async () => {
    const i = keys[n++]!;
    const rawBody = Buffer.from(JSON.stringify({ status: 'done', n: i }));
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody,
      secret: BENCH_SECRET,
      nowSeconds: Math.floor(Date.now() / 1000),
      id: `reply-${tag}-${i}`,
    });
    const t0 = performance.now();
    const res = await fetch(`${url}/hooks/bench`, {
      method: 'POST',
      body: rawBody,
      headers: { 'content-type': 'application/json', [KEY_HEADER]: `w-${i}`, ...headers },
    });
    const body = (await res.json()) as { decision?: string };
    latencies.push(performance.now() - t0);
    if (res.status !== 202 || body.decision !== 'resumed')
      failures.push(`${i}: ${res.status} ${JSON.stringify(body)}`);
  });
  return { latencies, failures };
}

/** The routing statements' plans for one key, as ingest runs them (IngestService). */
async function explainRouting(db: Client, key: string): Promise<string> {
  const plans: string[] = [];
  const statements: Array<[string, string, unknown[]]> = [
    [
      'open waits on the correlation key (IngestService.loadCandidates)',
      `SELECT w.id, w."workId", w.type, w.status, w."correlationKey", w.expects, w."createdAt", k.state, k."createdAt" AS "workCreatedAt"
       FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
       WHERE w."correlationKey" = $1 AND k.state = ANY($2::"WorkState"[])`,
      [key, ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED']],
    ],
    [
      'live works waiting on the correlation key, with their waits (IngestService.resumeInOneStatement)',
      `SELECT k.*, (SELECT json_agg(w) FROM "Wait" w WHERE w."workId" = k.id AND w."correlationKey" = $1) AS "__waits"
       FROM "Work" k
       WHERE k.id IN (SELECT "workId" FROM "Wait" WHERE "correlationKey" = $1) AND k.state = ANY($2::"WorkState"[])`,
      [key, ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED']],
    ],
    [
      'live works on the conversation',
      `SELECT id, state, "createdAt" FROM "Work" WHERE "conversationKey" = $1 AND state = ANY($2::"WorkState"[]) ORDER BY "createdAt" LIMIT 50`,
      [`webhook:${key}`, ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED']],
    ],
    [
      'dedupe (channel, externalId)',
      `SELECT id FROM "InboundEvent" WHERE channel = $1 AND "externalId" = $2`,
      ['webhook', 'bench:none'],
    ],
  ];
  for (const [title, sql, params] of statements) {
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`,
      params,
    );
    plans.push(`${title}:\n\n\`\`\`\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n\`\`\``);
  }
  return plans.join('\n\n');
}

/**
 * Routes `keys` replies in this process through IngestService (the code the gateway
 * runs after verifying a webhook), one at a time: the time of the routing transaction
 * and the enqueue after it, without HTTP, JSON or signatures.
 */
async function ingestReplies(ingest: IngestService, keys: number[], tag: string) {
  const latencies: number[] = [];
  let notResumed = 0;
  for (const i of keys) {
    const correlationKey = `bench:w-${i}`;
    const doc = { status: 'done', n: i };
    const t0 = performance.now();
    const result = await ingest.ingest({
      channel: 'webhook',
      source: 'bench',
      externalId: `bench:ingest-${tag}-${i}`,
      conversationKey: `webhook:${correlationKey}`,
      correlationKey,
      actor: { id: 'webhook:bench' },
      raw: doc,
      body: { source: 'bench', correlationKey, payload: doc },
      answer: doc,
      reference: null,
      command: null,
      route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
    });
    latencies.push(performance.now() - t0);
    if (result.decision !== 'resumed') notResumed++;
  }
  return { latencies, notResumed };
}

/**
 * The routing with the worker stopped (the path's own latency, without the runs of the
 * works it resumes competing for the same two cores), then as many bare round trips —
 * read, commit, Redis — as the floor under it (bench/lib/floor.ts).
 */
async function quietRouting(
  ingest: IngestService,
  db: Client,
  keys: number[],
): Promise<{ rows: Row[]; notResumed: number }> {
  const quiet = await ingestReplies(
    ingest,
    keys.map((i) => i + 2),
    'quiet',
  );
  const floor = await roundTripFloor(db, REDIS_URL, keys.length);
  const qt = summarize(quiet.latencies);
  const ms = (v: number) => round(v, 2);
  const scenario = 'many waiting works';
  return {
    notResumed: quiet.notResumed,
    rows: [
      {
        scenario,
        metric: 'routing transaction p99, worker stopped',
        value: ms(qt.p99),
        unit: 'ms',
        note: `p50 ${ms(qt.p50)} ms; the same ${keys.length} sequential replies, no run competing for the cores`,
      },
      {
        scenario,
        metric: 'bare round trips p99, worker stopped',
        value: ms(floor.sum.p99),
        unit: 'ms',
        note:
          `the floor under a routed reply: SELECT 1 + a one-row INSERT commit + a Redis SET, ` +
          `p50 ${ms(floor.sum.p50)}; alone p50/p99 ${ms(floor.read.p50)}/${ms(floor.read.p99)}, ` +
          `${ms(floor.commit.p50)}/${ms(floor.commit.p99)}, ${ms(floor.redis.p50)}/${ms(floor.redis.p99)} ms`,
      },
    ],
  };
}

/**
 * N works waiting on replies (bulk-inserted, see insertWaiters), then signed webhook
 * replies through the real gateway, each resolving one waiting work. Two figures:
 * - reply → 202: the HTTP latency at a low offered rate (so it is the routing, not a
 *   queue): signature check, the ingest transaction (conversation lock, dedupe insert,
 *   candidate lookup by correlation key, wait resolve, work transition, timeline) and
 *   the enqueue;
 * - routing transaction: IngestService.ingest in the bench process for other waiting
 *   works, sequentially: the same transaction and enqueue without HTTP.
 * Both are measured with a few hundred waiting works and again with N: routing must not
 * depend on N. Gateway and worker RSS are read with the few hundred, after inserting N
 * (and two reconciler passes), and after the replies.
 */
export async function manyWaiting(opts: {
  works: number;
  replies: number;
  rate: number;
}): Promise<Row[]> {
  const ledger = await freshLedger('waiting');
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  const ingest = ctx.get(IngestService, { strict: false });
  const small = 1_000;
  const config = writeConfigFile('waiting', {
    worker: { reconcileEvery: 1_000 },
    webhooks: {
      sources: {
        bench: {
          scheme: 'standard-webhooks',
          secrets: [BENCH_SECRET],
          correlation: { header: KEY_HEADER },
        },
      },
    },
  });
  const env = { WORKGATE_CONFIG: config };
  const worker = await startWorker(ledger.schema, ledger.prefix, env);
  const gateway = await startGatewayProcess(ledger.schema, ledger.prefix, env);
  const completed = () =>
    count(ledger.db, `SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED'`);
  try {
    const perPhase = Math.min(opts.replies, small / 4);
    log(`waiting: ${small} waiting works, ${perPhase} replies (baseline, after a warm-up)`);
    await insertWaiters(ledger.db, 1, small);
    // Warm-up (JIT, pools): replies to works that exist, on the same paths.
    const warm = Array.from({ length: perPhase }, (_, i) => i + 1);
    await postReplies(gateway.url, warm, opts.rate * 2, 'warm');
    await ingestReplies(
      ingest,
      warm.map((i) => i + perPhase),
      'warm',
    );
    const baseKeys = warm.map((i) => i + 2 * perPhase);
    const base = await postReplies(gateway.url, baseKeys, opts.rate, 'base');
    const baseTx = await ingestReplies(
      ingest,
      baseKeys.map((i) => i + perPhase),
      'base',
    );
    await waitFor(
      async () => (await completed()) === 4 * perPhase,
      'the answered works to complete',
    );
    const rss = () => ({
      gateway: rssMiB(gateway.app.child.pid),
      worker: rssMiB(worker.child.pid),
    });
    const rssSmall = rss();

    log(`waiting: bulk-inserting ${opts.works} waiting works`);
    const t0 = performance.now();
    await insertWaiters(ledger.db, small + 1, opts.works);
    const insertSec = (performance.now() - t0) / 1000;
    // Its ~500 MB of WAL and pages on disk now: written back by the kernel 30 s later,
    // they stalled the replies' commits for 300 ms (iowait) in the middle of the phase.
    await checkpoint(ledger.db, 'after the bulk insert');
    const waiting = await count(
      ledger.db,
      `SELECT count(*)::int AS n FROM "Work" WHERE state = 'WAITING'`,
    );
    // Two reconciler passes (every second here) over the big ledger before reading
    // memory again: the worker must not load what merely waits.
    await new Promise((r) => setTimeout(r, 2_500));
    const rssIdle = rss();
    log(
      `waiting: ${waiting} waiting works (inserted in ${round(insertSec)} s); ${opts.replies} replies`,
    );
    // Replies to works spread over the whole range, not the newest rows only: key i
    // through the gateway, i + 1 in-process, i + 2 with the worker stopped, i + 3 warm-up.
    const step = Math.max(4, Math.floor(opts.works / opts.replies));
    const keys = Array.from({ length: opts.replies }, (_, i) => small + 1 + i * step);
    // Warm-up again: the bulk insert's ANALYZE invalidated every prepared plan, and with
    // an idle timeout shorter than the insert the pools' connections are gone; the first
    // replies would pay re-planning and new connections, which is not routing among N.
    const warmBig = keys.slice(0, 50).map((i) => i + 3);
    await postReplies(gateway.url, warmBig, opts.rate, 'warm-big');
    const big = await postReplies(gateway.url, keys, opts.rate, 'big');
    const bigTx = await ingestReplies(
      ingest,
      keys.map((i) => i + 1),
      'big',
    );
    await waitFor(
      async () => (await completed()) === 4 * perPhase + warmBig.length + 2 * keys.length,
      'the answered works to complete',
    );
    const rssAfter = rss();
    // The same routing with the worker stopped: the path's own latency, without the runs
    // of the works it resumes competing for the same two cores (they stay QUEUED).
    await worker.stop();
    const quiet = await quietRouting(ingest, ledger.db, keys);
    const plans = await explainRouting(ledger.db, `bench:w-${small + 7}`);
    addAppendix(
      `Routing a reply among ${waiting} waiting works: plans`,
      `Each routing statement, EXPLAIN (ANALYZE) on the bench ledger.\n\n${plans}`,
    );
    const seqScans = (plans.match(/Seq Scan/g) ?? []).length;
    const b = summarize(base.latencies);
    const s = summarize(big.latencies);
    const bt = summarize(baseTx.latencies);
    const st = summarize(bigTx.latencies);
    const failures = [...base.failures, ...big.failures];
    if (failures.length)
      log(`waiting: ${failures.length} replies not resumed, e.g. ${failures[0]}`);
    const mib = (v: number) => round(v, 0);
    const ms = (v: number) => round(v, 2);
    return [
      {
        scenario: 'many waiting works',
        metric: 'routing transaction p50',
        value: ms(st.p50),
        unit: 'ms',
        note: `${waiting} waiting; IngestService.ingest in-process, ${keys.length} sequential replies`,
      },
      {
        scenario: 'many waiting works',
        metric: 'routing transaction p99',
        value: ms(st.p99),
        unit: 'ms',
        note: `with ${small} waiting: p50 ${ms(bt.p50)}, p99 ${ms(bt.p99)} ms; target p99 < 5 ms`,
      },
      ...quiet.rows,
      {
        scenario: 'many waiting works',
        metric: 'reply → 202 p50',
        value: ms(s.p50),
        unit: 'ms',
        note: `${waiting} waiting, ${keys.length} signed webhook replies at ${opts.rate}/s through the gateway`,
      },
      {
        scenario: 'many waiting works',
        metric: 'reply → 202 p99',
        value: ms(s.p99),
        unit: 'ms',
        note: `with ${small} waiting: p50 ${ms(b.p50)}, p99 ${ms(b.p99)} ms`,
      },
      {
        scenario: 'many waiting works',
        metric: 'replies not resumed',
        value: failures.length + baseTx.notResumed + bigTx.notResumed + quiet.notResumed,
        unit: 'count',
        note: 'must be 0',
        mustBe: 0,
      },
      {
        scenario: 'many waiting works',
        metric: 'gateway RSS',
        value: mib(rssIdle.gateway),
        unit: 'MiB',
        note: `with ${waiting} waiting; ${mib(rssSmall.gateway)} MiB with ${small}, ${mib(rssAfter.gateway)} MiB after the replies`,
      },
      {
        scenario: 'many waiting works',
        metric: 'worker RSS',
        value: mib(rssIdle.worker),
        unit: 'MiB',
        note: `with ${waiting} waiting; ${mib(rssSmall.worker)} MiB with ${small}, ${mib(rssAfter.worker)} MiB after the replies`,
      },
      {
        scenario: 'many waiting works',
        metric: 'seq scans in routing plans',
        value: seqScans,
        unit: 'count',
        mustBe: 0,
        note: 'must be 0 (plans in the appendix)',
      },
      {
        scenario: 'many waiting works',
        metric: 'bulk insert',
        value: round(opts.works / insertSec, 0),
        unit: 'works/s',
        note: 'SQL generate_series: Work, Step, Wait, InboundEvent, 3 WorkEvents each',
      },
    ];
  } finally {
    await gateway.app.stop();
    await worker.stop();
    await ctx.close();
    await ledger.drop();
    await deleteKeys(ledger.prefix, REDIS_URL);
  }
}

/**
 * kill -9 of the worker while works of several steps (separated by short sleeps) are
 * started at a steady rate the worker keeps up with; a new worker starts at once.
 * Recovery: from the kill until every work that was RUNNING at the kill has been
 * claimed again (lease ran out, swept by the reconciler, retried), and the same for
 * QUEUED works whose run job the killed worker had taken. Then every work must
 * complete, and no step that had completed before the kill may run again (each step
 * counts its executions in Redis).
 */
export async function recovery(opts: {
  works: number;
  rate: number;
  steps: number;
  leaseMs: number;
}): Promise<Row[]> {
  const ledger = await freshLedger('recovery');
  const ctx = await ledgerContext(ledger.schema, ledger.prefix);
  const effectsKey = `${ledger.prefix}:bench-effects`;
  const redis = new Redis(REDIS_URL);
  const reconcileEvery = 500;
  const config = writeConfigFile('recovery', {
    worker: { lease: opts.leaseMs, reconcileEvery },
  });
  const env = { WORKGATE_CONFIG: config, BENCH_EFFECTS_KEY: effectsKey };
  let worker = await startWorker(ledger.schema, ledger.prefix, env);
  try {
    log(
      `recovery: ${opts.works} works of ${opts.steps} steps at ${opts.rate}/s, lease ${opts.leaseMs} ms`,
    );
    const control = ctx.get(EngineControl, { strict: false });
    let started = 0;
    const starting = paced(opts.works, opts.rate, async () => {
      await control.start(
        'bench.stepper',
        { steps: opts.steps, sleepMs: 300, workMs: 30 },
        { actor: 'bench' },
      );
      started++;
    });
    await waitFor(async () => started >= opts.works / 2, 'half the works to start');
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = (await ledger.db.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!
      .t;
    const live = (
      await ledger.db.query<{ id: string; state: string; leaseExpiresAt: Date | null }>(
        `SELECT id, state, "leaseExpiresAt" FROM "Work" WHERE state IN ('RUNNING', 'QUEUED')`,
      )
    ).rows;
    const running = live.filter((w) => w.state === 'RUNNING');
    const queued = live.filter((w) => w.state === 'QUEUED');
    // A step counts as done once its checkpoint committed; anything else that ran was
    // in flight (its running row may or may not have been written) and may run again.
    const doneAtKill = new Set(
      (
        await ledger.db.query<{ key: string }>(
          `SELECT "workId" || ':' || substr(name, 6) AS key FROM "Step" WHERE status = 'completed' AND type = 'task'`,
        )
      ).rows.map((r) => r.key),
    );
    const executedAtKill = Object.keys(await redis.hgetall(effectsKey)).length;
    log(`recovery: killed with ${running.length} RUNNING, ${queued.length} QUEUED`);
    worker = await startWorker(ledger.schema, ledger.prefix, env);
    await starting;
    await waitFor(
      async () =>
        (await count(
          ledger.db,
          `SELECT count(*)::int AS n FROM "Work" WHERE state IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
        )) === opts.works,
      'every work to finish after the kill',
      180_000,
    );
    const reclaimedBy = async (ids: string[]) => {
      const { rows } = await ledger.db.query<{ at: Date | null; n: number }>(
        `SELECT max(first) AS at, count(*)::int AS n FROM (
           SELECT min(at) AS first FROM "WorkEvent"
           WHERE type = 'claimed' AND at > $1 AND "workId" = ANY($2::uuid[]) GROUP BY "workId") c`,
        [killedAt, ids],
      );
      const at = rows[0]?.at;
      return at ? at.getTime() - killedAt.getTime() : Number.NaN;
    };
    const recoveryMs = await reclaimedBy(running.map((r) => r.id));
    const queuedMs = await reclaimedBy(queued.map((r) => r.id));
    const lastExpiry = running.length
      ? Math.max(...running.map((r) => r.leaseExpiresAt?.getTime() ?? 0)) - killedAt.getTime()
      : Number.NaN;
    const completed = await count(
      ledger.db,
      `SELECT count(*)::int AS n FROM "Work" WHERE state = 'COMPLETED'`,
    );
    const executions = await redis.hgetall(effectsKey);
    let rerunCompleted = 0;
    let rerunInFlight = 0;
    for (const [key, n] of Object.entries(executions)) {
      if (Number(n) <= 1) continue;
      if (doneAtKill.has(key)) rerunCompleted++;
      else rerunInFlight++;
    }
    const swept = (
      await ledger.db.query<{ at: Date | null }>(
        `SELECT max(at) AS at FROM "WorkEvent" WHERE type = 'lease_expired' AND at > $1`,
        [killedAt],
      )
    ).rows[0]?.at;
    const expectedSteps = opts.works * opts.steps;
    const executed = Object.keys(executions).length;
    return [
      {
        scenario: 'recovery',
        metric: 'kill -9 → every RUNNING work claimed again',
        value: round(recoveryMs, 0),
        unit: 'ms',
        note: `${running.length} RUNNING at the kill; lease ${opts.leaseMs} ms, reconcile every ${reconcileEvery} ms (target ≤ lease + 1 s); the last lease ran out at +${round(lastExpiry, 0)} ms, swept by +${swept ? swept.getTime() - killedAt.getTime() : 'n/a'} ms`,
      },
      {
        scenario: 'recovery',
        metric: 'kill -9 → every QUEUED work claimed',
        value: round(queuedMs, 0),
        unit: 'ms',
        note: `${queued.length} QUEUED at the kill (their run jobs may have been taken by the killed worker)`,
      },
      {
        scenario: 'recovery',
        metric: 'completed / started',
        value: completed,
        unit: 'count',
        mustBe: opts.works,
        note: `of ${opts.works} (must be equal); ${opts.steps} steps each, 300 ms sleeps, started at ${opts.rate}/s`,
      },
      {
        scenario: 'recovery',
        metric: 'completed steps run again',
        value: rerunCompleted,
        unit: 'count',
        mustBe: 0,
        note: `must be 0 (${doneAtKill.size} steps done at the kill); ${rerunInFlight} of the ${executedAtKill - doneAtKill.size} in flight ran again (allowed); ${executed}/${expectedSteps} steps ran`,
      },
    ];
  } finally {
    await worker.stop();
    await redis.del(effectsKey);
    redis.disconnect();
    await ctx.close();
    await ledger.drop();
    await deleteKeys(ledger.prefix, REDIS_URL);
  }
}
