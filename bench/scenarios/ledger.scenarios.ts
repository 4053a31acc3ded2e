import { randomBytes } from 'node:crypto';
import { type Client } from 'pg';
import { type WorkState } from '@app/core';
import { type WorkFilters, worksSearchQuery } from '@app/ledger';
import { deleteKeys } from '../../test/support/redis';
import { freshLedger, log, REDIS_URL, startGatewayProcess } from '../lib/harness';
import { addAppendix, uuidSql } from '../lib/scale-harness';
import { percentile, round } from '../lib/stats';
import { type Row } from './engine.scenarios';

const KINDS = [
  'triage',
  'assistant',
  'notify',
  'sync',
  'payment',
  'chat-approval',
  'ingest',
  'nightly-report',
  'cleanup',
  'deploy',
];

/**
 * `works` Work rows in bulk SQL (generate_series), 90 days of history, oldest first:
 * 5 % FAILED, 3 % CANCELLED throughout; live works are recent, as they are in a real
 * ledger: 7.5 % of the newest fifth WAITING (each with an open Wait), 0.5 % each of the
 * newest 2 % QUEUED, RUNNING, PAUSED; the rest COMPLETED. Ten kinds, skewed (the first
 * is the most common);
 * channels webhook 50 %, telegram 20 %, slack 15 %, api 10 %, schedule 5 %; chat and
 * webhook works on a conversation; `assistant` works with two model calls. Steps and
 * timeline entries are left out: no list query reads them.
 */
export async function insertLedger(db: Client, works: number): Promise<void> {
  const chunk = 200_000;
  // Deterministic spread: a hash of the row number picks state, kind and channel.
  const bucket = (salt: number, mod: number) => `(abs(hashint4(i * 31 + ${salt})) % ${mod})`;
  for (let lo = 1; lo <= works; lo += chunk) {
    const hi = Math.min(works, lo + chunk - 1);
    await db.query(
      `INSERT INTO "Work" (id, kind, state, "sourceType", "sourceId", "conversationKey", input, attempt,
         "retryPolicy", "runSeq", "leaseOwner", "leaseToken", "leaseExpiresAt", "lastHeartbeatAt", "checkpointSeq",
         "waitReason", version, "createdAt", "updatedAt", "finishedAt")
       SELECT ${uuidSql(`'work' || i`)}, kind, state::"WorkState", channel, NULL,
         CASE channel WHEN 'telegram' THEN 'telegram:bot:' || (i % 5000)
                      WHEN 'slack' THEN 'slack:T1:C' || (i % 3000)
                      WHEN 'webhook' THEN 'webhook:github:' || (i % 20000) END,
         jsonb_build_object('n', i, 'text', 'order ' || i || ' for customer ' || (i % 997)),
         1, '{"maxAttempts":5}', 1,
         CASE WHEN state = 'RUNNING' THEN 'bench-worker' END, 1,
         CASE WHEN state = 'RUNNING' THEN now() + interval '30 seconds' END,
         CASE WHEN state = 'RUNNING' THEN now() END, 2,
         CASE WHEN state = 'WAITING' THEN 'human' END, 3,
         created, created + interval '2 seconds',
         CASE WHEN state IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN created + interval '2 seconds' END
       FROM (
         SELECT i,
           now() - interval '90 days' * (1 - i::float8 / $3) AS created,
           CASE WHEN s < 830 THEN 'COMPLETED' WHEN s < 880 THEN 'FAILED' WHEN s < 910 THEN 'CANCELLED'
                -- Live works are recent: waits in the newest fifth, the rest in the newest 2 %.
                WHEN s < 985 AND i > $3 * 0.8 THEN 'WAITING'
                WHEN s >= 985 AND i > $3 * 0.98 THEN
                  (ARRAY['QUEUED', 'RUNNING', 'PAUSED'])[1 + (s - 985) / 5]
                ELSE 'COMPLETED' END AS state,
           (ARRAY[${KINDS.map((k) => `'${k}'`).join(', ')}])[1 + floor(10 * power(k / 1000.0, 2))::int] AS kind,
           CASE WHEN c < 50 THEN 'webhook' WHEN c < 70 THEN 'telegram' WHEN c < 85 THEN 'slack'
                WHEN c < 95 THEN 'api' ELSE 'schedule' END AS channel
         FROM (SELECT i, ${bucket(1, 1000)} AS s, ${bucket(2, 1000)} AS k, ${bucket(3, 100)} AS c
               FROM generate_series($1::int, $2::int) i) r
       ) g`,
      [lo, hi, works],
    );
    log(`ledger: ${hi} works`);
  }
  await db.query(
    `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "conversationKey", "onTimeout", "createdAt")
     SELECT ${uuidSql(`'wait' || w.id`)}, w.id, 2, 'human', 'open', w."conversationKey", 'fail', w."updatedAt"
     FROM "Work" w WHERE w.state = 'WAITING'`,
  );
  await db.query(
    `INSERT INTO "ModelCall" (id, "workId", provider, model, "promptHash", "inputTokens", "outputTokens", "costUsd", "latencyMs", "createdAt")
     SELECT ${uuidSql(`'call' || n || w.id`)}, w.id, 'openai', 'gpt-bench', 'h', 900, 120, 0.0021, 800, w."createdAt"
     FROM "Work" w CROSS JOIN generate_series(1, 2) n WHERE w.kind = 'assistant'`,
  );
  // What autovacuum would have done by the time a ledger is this big.
  await db.query('VACUUM ANALYZE "Work", "Wait", "ModelCall"');
}

interface Probe {
  name: string;
  /** Query string of GET /api/v1/works. */
  params: Record<string, string>;
  /** The same as the repository's filters, for EXPLAIN. */
  filters: Omit<WorkFilters, 'limit'>;
  /** Walk the pages (each request passes the previous nextCursor). */
  paging?: boolean;
}

/**
 * GET /api/v1/works (every filter the dashboard and the CLI use) and the dashboard's
 * other reads (stats, leases), through the real gateway over HTTP with an operator
 * token, on a ledger of `works` rows. Each probe runs `repeats` times in sequence; the
 * figure is the HTTP latency (the gateway's JSON, auth and validation included).
 * The statement of each search probe (`q`, the list's one SQL path) is EXPLAIN ANALYZEd
 * into the result's appendix; the other probes run Prisma Client's queries.
 */
export async function ledgerSize(opts: { works: number; repeats: number }): Promise<Row[]> {
  const ledger = await freshLedger('ledger');
  const token = randomBytes(24).toString('base64url');
  try {
    log(`ledger: inserting ${opts.works} works`);
    const t0 = performance.now();
    await insertLedger(ledger.db, opts.works);
    const insertSec = (performance.now() - t0) / 1000;
    const gateway = await startGatewayProcess(ledger.schema, ledger.prefix, {
      WORKGATE_API_TOKEN: token,
    });
    try {
      const dayAgo30 = new Date(Date.now() - 30 * 86_400_000);
      const dayAgo29 = new Date(Date.now() - 29 * 86_400_000);
      const probes: Probe[] = [
        { name: 'newest first', params: {}, filters: {} },
        {
          name: 'state=WAITING',
          params: { state: 'WAITING' },
          filters: { states: ['WAITING'] },
        },
        {
          name: 'state=FAILED, paging',
          params: { state: 'FAILED' },
          filters: { states: ['FAILED'] },
          paging: true,
        },
        {
          name: 'state=QUEUED,RUNNING,PAUSED',
          params: { state: 'QUEUED,RUNNING,PAUSED' },
          filters: { states: ['QUEUED', 'RUNNING', 'PAUSED'] },
        },
        {
          name: 'state=COMPLETED,FAILED',
          params: { state: 'COMPLETED,FAILED' },
          filters: { states: ['COMPLETED', 'FAILED'] },
        },
        { name: 'kind=deploy (rare)', params: { kind: 'deploy' }, filters: { kind: 'deploy' } },
        {
          name: 'state=FAILED&kind=payment',
          params: { state: 'FAILED', kind: 'payment' },
          filters: { states: ['FAILED'], kind: 'payment' },
        },
        {
          name: 'channel=schedule',
          params: { channel: 'schedule' },
          filters: { channel: 'schedule' },
        },
        {
          name: 'conversation',
          params: { conversation: 'telegram:bot:42' },
          filters: { conversationKey: 'telegram:bot:42' },
        },
        {
          name: 'one day, 30 days ago',
          params: { createdFrom: dayAgo30.toISOString(), createdTo: dayAgo29.toISOString() },
          filters: { createdFrom: dayAgo30, createdTo: dayAgo29 },
        },
        { name: 'newest first, paging', params: {}, filters: {}, paging: true },
        // Free-text search (ILIKE on the input's JSON text, trigram-indexed): a term
        // in 1 of 997 works, one in a single work, and one in every work.
        { name: 'q=customer 996', params: { q: 'customer 996' }, filters: { q: 'customer 996' } },
        {
          name: 'q=order 54321 (one)',
          params: { q: 'order 54321 ' },
          filters: { q: 'order 54321 ' },
        },
        { name: 'q=customer (all)', params: { q: 'customer' }, filters: { q: 'customer' } },
      ];
      const headers = { authorization: `Bearer ${token}` };
      const get = async (path: string): Promise<{ ms: number; body: unknown }> => {
        const t = performance.now();
        const res = await fetch(`${gateway.url}${path}`, { headers });
        const body: unknown = await res.json();
        const ms = performance.now() - t;
        if (res.status !== 200)
          throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(body)}`);
        return { ms, body };
      };
      // Warm-up: the gateway's first requests compile code paths.
      for (let i = 0; i < 20; i++) await get('/api/v1/works?limit=50');

      const rows: Row[] = [];
      const listSamples: number[] = [];
      const plans: string[] = [];
      for (const probe of probes) {
        const samples: number[] = [];
        let cursor: string | null = null;
        let lastCursor: string | undefined;
        for (let i = 0; i < opts.repeats; i++) {
          const q = new URLSearchParams({ ...probe.params, limit: '50' });
          if (probe.paging && cursor) q.set('cursor', cursor);
          lastCursor = probe.paging && cursor ? cursor : undefined;
          const { ms, body } = await get(`/api/v1/works?${q.toString()}`);
          samples.push(ms);
          cursor = (body as { nextCursor: string | null }).nextCursor;
        }
        listSamples.push(...samples);
        rows.push({
          scenario: 'ledger size',
          metric: `${probe.name} p99`,
          value: round(percentile(samples, 99), 1),
          unit: 'ms',
          note: `p50 ${round(percentile(samples, 50), 1)} ms${probe.paging ? `, pages 1-${opts.repeats}` : ''}`,
        });
        if (probe.filters.q) {
          const query = worksSearchQuery({
            ...probe.filters,
            q: probe.filters.q,
            limit: 50,
            cursor: lastCursor,
          });
          const { rows: plan } = await ledger.db.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query.text}`,
            query.values,
          );
          plans.push(
            `### ${probe.name}${lastCursor ? ` (page ${opts.repeats})` : ''}\n\n\`\`\`\n${plan.map((r) => r['QUERY PLAN']).join('\n')}\n\`\`\``,
          );
        }
      }
      for (const [name, path] of [
        ['stats (dashboard header)', '/api/v1/stats?days=1'],
        ['leases (dashboard)', '/api/v1/leases'],
      ] as const) {
        const samples: number[] = [];
        for (let i = 0; i < opts.repeats; i++) samples.push((await get(path)).ms);
        rows.push({
          scenario: 'ledger size',
          metric: `${name} p99`,
          value: round(percentile(samples, 99), 1),
          unit: 'ms',
          note: `p50 ${round(percentile(samples, 50), 1)} ms`,
        });
      }
      addAppendix(
        `Operator list queries on ${opts.works} works: plans`,
        `The statement GET /api/v1/works?q= runs for each search probe (worksSearchQuery), EXPLAIN (ANALYZE, BUFFERS); the other probes are Prisma Client's queries.\n\n${plans.join('\n\n')}`,
      );
      const states = (
        await ledger.db.query<{ state: WorkState; n: number }>(
          `SELECT state, count(*)::int AS n FROM "Work" GROUP BY state ORDER BY n DESC`,
        )
      ).rows;
      return [
        {
          scenario: 'ledger size',
          metric: 'list queries p99 (all probes)',
          value: round(percentile(listSamples, 99), 1),
          unit: 'ms',
          note: `${opts.works} works (${states.map((s) => `${s.state} ${s.n}`).join(', ')}); HTTP through the gateway; target < 50 ms`,
        },
        ...rows,
        {
          scenario: 'ledger size',
          metric: 'bulk insert',
          value: round(opts.works / insertSec, 0),
          unit: 'works/s',
          note: 'SQL generate_series, then VACUUM ANALYZE',
        },
      ];
    } finally {
      await gateway.app.stop();
    }
  } finally {
    await ledger.drop();
    await deleteKeys(ledger.prefix, REDIS_URL);
  }
}
