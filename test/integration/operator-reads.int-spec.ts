import { createServer } from 'node:net';
import {
  LedgerDatabase,
  LedgerReadDatabase,
  OperatorEventsRepository,
  OperatorOutboxRepository,
  OperatorWorksRepository,
  WorkRepository,
} from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';
import { SUMMARY_COLUMNS } from '../../libs/ledger/src/operator/works-search.sql';

/*
 * The operator reads moved from hand-written SQL to Prisma Client; the API must answer
 * byte for byte what it answered before. Each read is compared, as the JSON the API
 * sends (key order included), with the statement it replaced, on a ledger that has every
 * kind of row: model calls (numeric cost), leases (int8 token), steps, waits, inbox
 * events with a kept raw body, outbox rows, a parent and a child.
 */

const INBOX_COLUMNS = `id, channel, source, "externalId", "conversationKey", "correlationKey", actor, body,
  decision::text AS decision, reason, "workId", "waitId", "consumedAt", "receivedAt"`;

const id = (n: number, prefix = '0193a1b2') =>
  `${prefix}-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

describe('operator reads through Prisma Client', () => {
  let s: TestSchema;
  let db: LedgerDatabase;
  let works: OperatorWorksRepository;
  let events: OperatorEventsRepository;
  let outbox: OperatorOutboxRepository;
  const json = (v: unknown) => JSON.stringify(v);

  beforeAll(async () => {
    s = await createTestSchema('op_reads');
    db = new LedgerDatabase({ connectionString: TEST_DATABASE_URL, schema: s.schema, poolSize: 4 });
    works = new OperatorWorksRepository(db, new LedgerReadDatabase(db, false));
    events = new OperatorEventsRepository(db);
    outbox = new OperatorOutboxRepository(db, new WorkRepository({ now: () => Date.now() }));
    const states = ['QUEUED', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'PAUSED'];
    // 60 works, 10 per state, created a second apart except pairs sharing an instant
    // (the keyset's tie-break on id).
    await s.query(
      `INSERT INTO "Work" (id, kind, state, "sourceType", "conversationKey", input, "retryPolicy", attempt,
         "leaseOwner", "leaseToken", "leaseExpiresAt", "createdAt", "updatedAt", "parentId", "finishedAt")
       SELECT ('0193a1b2-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
         CASE WHEN i % 3 = 0 THEN 'triage' ELSE 'assistant' END,
         ($1::text[])[1 + i % 6]::"WorkState",
         CASE WHEN i % 2 = 0 THEN 'telegram' ELSE 'webhook' END,
         'conv:' || (i % 4), jsonb_build_object('n', i, 'text', 'order ' || i),
         '{"maxAttempts":3}', i % 3,
         CASE WHEN i % 6 = 1 THEN 'w1' END, 9007199254740993 + i,
         CASE WHEN i % 6 = 1 THEN timestamptz '2026-11-01T00:00:00Z' + (i || ' seconds')::interval END,
         timestamptz '2026-11-01T00:00:00Z' + ((i / 2) || ' seconds')::interval,
         timestamptz '2026-11-02T00:00:00Z' + (i || ' seconds')::interval,
         CASE WHEN i = 7 THEN '0193a1b2-0000-7000-8000-000000000002'::uuid END,
         CASE WHEN i % 6 IN (3, 4) THEN timestamptz '2026-11-03T00:00:00Z' END
       FROM generate_series(1, 60) i`,
      [states],
    );
    await s.query(
      `INSERT INTO "ModelCall" (id, "workId", "stepId", provider, model, "promptHash", "inputTokens", "outputTokens",
         "costUsd", "latencyMs", "createdAt")
       SELECT gen_random_uuid(), ('0193a1b2-0000-7000-8000-' || lpad(to_hex(1 + i % 20), 12, '0'))::uuid, NULL,
         'openai', 'gpt', 'h', 100, 20, 0.000123 * i + 0.1, 50, timestamptz '2026-11-01T00:00:00Z' + (i || ' hours')::interval
       FROM generate_series(1, 50) i`,
    );
    const w = id(2);
    await s.query(
      `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, input, output, attempt, "startedAt", "finishedAt")
       VALUES ($2, $1, 1, 'one', 'task', 'k1', 'completed', '{"a":1}', '{"v":2}', 1, '2026-11-01T00:00:00.100Z', '2026-11-01T00:00:01.350Z'),
              ($3, $1, 2, 'two', 'wait', 'k2', 'running', NULL, NULL, 2, '2026-11-01T00:00:02Z', NULL)`,
      [w, id(1, 'aaaaaaaa'), id(2, 'aaaaaaaa')],
    );
    await s.query(
      `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "conversationKey", expects, escalation, "timeoutAt", "onTimeout")
       VALUES ($2, $1, 2, 'human', 'open', 'conv:2', '{"type":"string"}', '[{"afterMs":1000,"action":"remind"}]',
         '2026-11-05T00:00:00Z', 'escalate')`,
      [w, id(3, 'aaaaaaaa')],
    );
    await s.query(
      `INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
       VALUES ($1, 1, 'created', '{"x":1}', 'system', '2026-11-01T00:00:00Z'), ($1, 2, 'step_started', NULL, NULL, '2026-11-01T00:00:01Z')`,
      [w],
    );
    await s.query(
      `INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", actor, raw, body, decision, reason,
         "workId", "consumedAt", "receivedAt")
       SELECT ('0193a1b2-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
         CASE WHEN i % 2 = 0 THEN 'webhook' ELSE 'telegram' END, 'src' || (i % 3), 'ext' || i, 'conv:2',
         '{"id":1}', '{"raw":true}', jsonb_build_object('i', i),
         (ARRAY['inbox','opened','collected','resumed'])[1 + i % 4]::"RouteDecision", 'because',
         CASE WHEN i < 10 THEN $1::uuid END, CASE WHEN i = 4 THEN now() END,
         timestamptz '2026-11-01T00:00:00Z' + ((i / 2) || ' seconds')::interval
       FROM generate_series(1, 30) i`,
      [w],
    );
    await s.query(
      `INSERT INTO "InboundRawBody" (channel, "externalId", sha256, body) VALUES ('webhook', 'ext2', 'x', convert_to('{"n": 1e400}', 'UTF8'))`,
    );
    await s.query(
      `INSERT INTO "Outbox" (id, "workId", channel, target, payload, "idempotencyKey", status, attempts, "lastError", "createdAt")
       SELECT ('0193a1b2-0000-7000-a000-' || lpad(to_hex(i), 12, '0'))::uuid, CASE WHEN i % 2 = 0 THEN $1::uuid END,
         CASE WHEN i % 3 = 0 THEN 'slack' ELSE 'telegram' END, 't' || i, jsonb_build_object('text', 'hi ' || i),
         'ok' || i, (ARRAY['pending','sent','failed'])[1 + i % 3]::"OutboxStatus", i % 4, CASE WHEN i % 3 = 2 THEN 'boom' END,
         timestamptz '2026-11-01T00:00:00Z' + ((i / 2) || ' seconds')::interval
       FROM generate_series(1, 25) i`,
      [w],
    );
  });

  afterAll(async () => {
    await db?.close();
    await s?.drop();
  });

  const listWorksSql = (where: string, params: unknown[], limit: number) =>
    s.query(
      `SELECT ${SUMMARY_COLUMNS} FROM "Work" w ${where} ORDER BY w."createdAt" DESC, w.id DESC LIMIT ${limit}`,
      params,
    );

  it('lists works as the SQL did, through every page, with each filter', async () => {
    const cases: Array<[Parameters<OperatorWorksRepository['list']>[0], string, unknown[]]> = [
      [{ limit: 7 }, '', []],
      [{ limit: 5, states: ['WAITING'] }, `WHERE w.state = 'WAITING'`, []],
      [
        { limit: 4, states: ['QUEUED', 'FAILED', 'QUEUED'] },
        `WHERE w.state IN ('QUEUED', 'FAILED')`,
        [],
      ],
      [
        { limit: 3, kind: 'triage', channel: 'telegram', conversationKey: 'conv:2' },
        `WHERE w.kind = 'triage' AND w."sourceType" = 'telegram' AND w."conversationKey" = 'conv:2'`,
        [],
      ],
      [
        {
          limit: 6,
          createdFrom: new Date('2026-11-01T00:00:05Z'),
          createdTo: new Date('2026-11-01T00:00:20Z'),
          updatedFrom: new Date('2026-11-02T00:00:12Z'),
        },
        `WHERE w."createdAt" >= $1 AND w."createdAt" < $2 AND w."updatedAt" >= $3`,
        ['2026-11-01T00:00:05Z', '2026-11-01T00:00:20Z', '2026-11-02T00:00:12Z'],
      ],
    ];
    for (const [filters, where, params] of cases) {
      const expected = await listWorksSql(where, params, 100);
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 30; page++) {
        const got = await works.list({ ...filters, cursor });
        seen.push(...got.items);
        if (!got.nextCursor) break;
        cursor = got.nextCursor;
      }
      expect(json(seen)).toBe(json(expected));
    }
  });

  it('searches (q, still SQL) with the same keyset', async () => {
    const got = await works.list({ limit: 50, q: 'ORDER 1' });
    const expected = await listWorksSql(`WHERE w.input::text ILIKE '%order 1%'`, [], 50);
    expect(json(got.items)).toBe(json(expected));
  });

  it('answers a work in full as the SQL did', async () => {
    const w = id(2);
    const [work] = await s.query(
      `SELECT ${SUMMARY_COLUMNS}, w."sourceType", w."sourceId", w."pausedFrom", w.input, w.output, w.error,
         w."retryPolicy", w."runSeq", w."leaseOwner", w."leaseToken"::text AS "leaseToken", w."leaseExpiresAt",
         w."lastHeartbeatAt", w."checkpointSeq", w."pauseRequested", w."cancelRequested", w.version, w."finishedAt"
       FROM "Work" w WHERE w.id = $1`,
      [w],
    );
    const expected = {
      work,
      timeline: await s.query(
        `SELECT seq, type, data, actor, at FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq`,
        [w],
      ),
      steps: await s.query(
        `SELECT seq, name, type, status, attempt, "idempotencyKey", input, output, error, "workerId",
           "startedAt", "heartbeatAt", "finishedAt",
           (extract(epoch FROM "finishedAt" - "startedAt") * 1000)::float8 AS "durationMs"
         FROM "Step" WHERE "workId" = $1 ORDER BY seq`,
        [w],
      ),
      waits: await s.query(
        `SELECT id, "stepSeq", type, status, "conversationKey", "correlationKey", expects, responders,
           "resumeChannel", "timeoutAt", "onTimeout", escalation, "escalationRung", "defaultValue", result,
           "satisfiedByEventId", "createdAt", "resolvedAt"
         FROM "Wait" WHERE "workId" = $1 ORDER BY "stepSeq"`,
        [w],
      ),
      inbox: await s.query(
        `SELECT ${INBOX_COLUMNS} FROM "InboundEvent"
         WHERE "workId" = $1 AND decision IN ('inbox', 'collected') AND "consumedAt" IS NULL ORDER BY seq`,
        [w],
      ),
      modelCalls: await s.query(
        `SELECT id, "stepId", provider, model, "inputTokens", "outputTokens", "cachedTokens",
           "costUsd"::float8 AS "costUsd", "finishReason", "latencyMs", "createdAt"
         FROM "ModelCall" WHERE "workId" = $1 ORDER BY "createdAt", id`,
        [w],
      ),
      costUsd: work!.costUsd,
      parent: null,
      children: await s.query(
        `SELECT ${SUMMARY_COLUMNS} FROM "Work" w WHERE w."parentId" = $1 ORDER BY w."createdAt", w.id`,
        [w],
      ),
    };
    expect((expected.children as unknown[]).length).toBe(1);
    expect(json(await works.detail(w))).toBe(json(expected));
    const child = await works.detail(id(7));
    const [parent] = await s.query(`SELECT ${SUMMARY_COLUMNS} FROM "Work" w WHERE w.id = $1`, [w]);
    expect(json(child?.parent)).toBe(json(parent));
    expect(await works.detail(id(999))).toBeNull();
    expect(json(await works.summary(w))).toBe(json(parent));
    const [result] = await s.query(
      'SELECT id, kind, state, output, error, "finishedAt" FROM "Work" WHERE id = $1',
      [id(3)],
    );
    expect(json(await works.result(id(3)))).toBe(json(result));
  });

  it('answers leases and stats as the SQL did', async () => {
    const now = new Date('2026-11-01T00:00:30Z');
    for (const expiredOnly of [false, true]) {
      const expected = await s.query(
        `SELECT id AS "workId", kind, attempt, "leaseOwner", "leaseToken"::text AS "leaseToken",
           "leaseExpiresAt", "lastHeartbeatAt", COALESCE("leaseExpiresAt" < $1, false) AS expired
         FROM "Work" WHERE state = 'RUNNING' AND ($2::boolean IS NOT TRUE OR "leaseExpiresAt" < $1)
         ORDER BY "leaseExpiresAt", id LIMIT $3`,
        [now, expiredOnly, 50],
      );
      expect(json(await works.leases({ now, expiredOnly, limit: 50 }))).toBe(json(expected));
    }
    const stats = await works.stats(
      new Date('2026-11-01T00:00:00Z'),
      new Date('2026-11-03T00:00:00Z'),
    );
    expect(stats.byState).toEqual({
      QUEUED: 10,
      RUNNING: 10,
      WAITING: 10,
      PAUSED: 10,
      COMPLETED: 10,
      FAILED: 10,
      CANCELLED: 0,
    });
    expect(stats.costPerDay.map((d) => d.day)).toEqual(['2026-11-01', '2026-11-02']);
  });

  it('lists, finds and pages inbound events as the SQL did', async () => {
    const cases: Array<[Parameters<OperatorEventsRepository['list']>[0], string]> = [
      [{ limit: 4 }, ''],
      [
        { limit: 3, channel: 'webhook', decisions: ['inbox', 'collected'] },
        `WHERE channel = 'webhook' AND decision IN ('inbox', 'collected')`,
      ],
      [
        { limit: 2, workId: id(2), source: 'src1' },
        `WHERE "workId" = '${id(2)}' AND source = 'src1'`,
      ],
    ];
    for (const [filters, where] of cases) {
      const expected = await s.query(
        `SELECT ${INBOX_COLUMNS} FROM "InboundEvent" ${where} ORDER BY "receivedAt" DESC, id DESC`,
      );
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 30; page++) {
        const got = await events.list({ ...filters, cursor });
        seen.push(...got.items);
        if (!got.nextCursor) break;
        cursor = got.nextCursor;
      }
      expect(json(seen)).toBe(json(expected));
    }
    for (const n of [2, 3]) {
      const eventId = `0193a1b2-0000-7000-9000-${n.toString(16).padStart(12, '0')}`;
      const [expected] = await s.query(
        `SELECT ${INBOX_COLUMNS}, raw,
           (SELECT convert_from(r.body, 'UTF8') FROM "InboundRawBody" r
             WHERE r.channel = "InboundEvent".channel AND r."externalId" = "InboundEvent"."externalId") AS "rawBody"
         FROM "InboundEvent" WHERE id = $1`,
        [eventId],
      );
      expect(json(await events.find(eventId))).toBe(json(expected));
    }
    const [byExternal] = await s.query(
      `SELECT ${INBOX_COLUMNS} FROM "InboundEvent" WHERE channel = 'webhook' AND "externalId" = 'ext4'`,
    );
    expect(json(await events.findByExternalId('webhook', 'ext4'))).toBe(json(byExternal));
  });

  it('lists outbox rows as the SQL did', async () => {
    const cases: Array<[Parameters<OperatorOutboxRepository['list']>[0], string]> = [
      [{ limit: 4 }, ''],
      [
        { limit: 3, statuses: ['failed', 'sent'], channel: 'telegram' },
        `WHERE status IN ('failed', 'sent') AND channel = 'telegram'`,
      ],
      [{ limit: 2, workId: id(2) }, `WHERE "workId" = '${id(2)}'`],
    ];
    for (const [filters, where] of cases) {
      const expected = await s.query(
        `SELECT * FROM "Outbox" ${where} ORDER BY "createdAt" DESC, id DESC`,
      );
      const seen: unknown[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 30; page++) {
        const got = await outbox.list({ ...filters, cursor });
        seen.push(...got.items);
        if (!got.nextCursor) break;
        cursor = got.nextCursor;
      }
      expect(json(seen)).toBe(json(expected));
    }
  });

  it('says the ledger is unavailable (503) when PostgreSQL cannot be reached', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const gone = new LedgerDatabase({
      connectionString: `postgresql://postgres@127.0.0.1:${port}/x`,
      schema: 'x',
      poolSize: 1,
    });
    try {
      const repo = new OperatorWorksRepository(gone, new LedgerReadDatabase(gone, false));
      await expect(repo.list({ limit: 5 })).rejects.toMatchObject({ code: 'ledger_unavailable' });
      await expect(repo.detail(id(1))).rejects.toMatchObject({ code: 'ledger_unavailable' });
      await expect(new OperatorEventsRepository(gone).list({ limit: 5 })).rejects.toMatchObject({
        code: 'ledger_unavailable',
      });
    } finally {
      await gone.close();
    }
  });
});
