import { type INestApplicationContext } from '@nestjs/common';
import { type InboundEventInput } from '@app/core';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { jobIdsIn } from '@test/queue';
import { deleteKeys, testQueuePrefix } from '@test/redis';

/**
 * Events that name no existing work (no conversation or correlation key, no reference)
 * are written in one statement, and concurrent ones share it (IngestService's batched
 * path): each is still deduped, opens its work with the same rows as the transaction
 * path, and is enqueued before ingest() returns.
 */
describe('ingest in one statement (keyless events, batched)', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let ingest: IngestService;
  let n = 0;

  beforeAll(async () => {
    db = await createTestSchema('ingest1');
    prefix = testQueuePrefix();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
    ingest = ctx.get(IngestService);
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  function delivery(opts: Partial<InboundEventInput> = {}): InboundEventInput {
    const id = `d${++n}`;
    return {
      channel: 'webhook',
      source: 'ci',
      externalId: `ci:${id}`,
      conversationKey: null,
      correlationKey: null,
      actor: { id: 'webhook:ci' },
      raw: { id },
      body: { source: 'ci', deliveryId: id, payload: { id } },
      answer: { id },
      reference: null,
      command: null,
      route: { openKind: 'build', busyPolicy: 'inbox', collectWindowMs: 0 },
      ...opts,
    };
  }

  it('opens one work per concurrent delivery, with its timeline entry and its job, before answering', async () => {
    const events = Array.from({ length: 40 }, () => delivery());
    const results = await Promise.all(events.map((e) => ingest.ingest(e)));
    expect(results.every((r) => r.decision === 'opened' && !r.duplicate)).toBe(true);
    const workIds = results.map((r) => r.workId!);
    expect(new Set(workIds).size).toBe(40);
    // Enqueued before ingest() returned: the jobs are there now, not eventually.
    const jobs = await jobIdsIn(prefix);
    expect(workIds.every((id) => jobs.includes(`work:${id}:1`))).toBe(true);
    const rows = await db.query<{ decision: string; workId: string; kind: string; type: string }>(
      `SELECT e.decision, e."workId", w.kind, t.type FROM "InboundEvent" e
       JOIN "Work" w ON w.id = e."workId" AND w."sourceId" = e.id::text
       JOIN "WorkEvent" t ON t."workId" = w.id AND t.seq = 1
       WHERE e.id = ANY($1::uuid[])`,
      [results.map((r) => r.eventId)],
    );
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r.kind === 'build' && r.type === 'created')).toBe(true);
  });

  it('writes the same work and timeline as the transaction path', async () => {
    const keyless = await ingest.ingest(
      delivery({ replyAddress: { channel: 'http', target: 'x' } }),
    );
    // A conversation key sends the event through the full transaction.
    const keyed = await ingest.ingest(
      delivery({ conversationKey: 'webhook:k1', replyAddress: { channel: 'http', target: 'x' } }),
    );
    const shape = async (workId: string) => {
      const [work] = await db.query(
        `SELECT kind, state, "sourceType", input IS NOT NULL AS "hasInput", attempt, "retryPolicy", "runSeq",
                "replyAddress", "leaseToken", "checkpointSeq", version, "leaseOwner", "runAfter"
         FROM "Work" WHERE id = $1`,
        [workId],
      );
      const timeline = await db.query(
        `SELECT seq, type, actor, data - 'eventId' AS data FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq`,
        [workId],
      );
      return { work, timeline };
    };
    expect(await shape(keyless.workId!)).toEqual(await shape(keyed.workId!));
    const [event] = await db.query<{ decision: string; reason: string }>(
      'SELECT decision, reason FROM "InboundEvent" WHERE id = $1',
      [keyless.eventId],
    );
    expect(event).toEqual({ decision: 'opened', reason: keyless.reason });
  });

  it('dedupes deliveries repeated at once, within one batch and across batches', async () => {
    const a = delivery();
    const b = delivery();
    const results = await Promise.all([
      ...Array.from({ length: 15 }, () => ingest.ingest(a)),
      ...Array.from({ length: 15 }, () => ingest.ingest(b)),
    ]);
    for (const first of [results.slice(0, 15), results.slice(15)]) {
      expect(first.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(new Set(first.map((r) => r.eventId)).size).toBe(1);
      expect(new Set(first.map((r) => r.workId)).size).toBe(1);
    }
    const [counts] = await db.query<{ events: number; works: number }>(
      `SELECT (SELECT count(*)::int FROM "InboundEvent" WHERE "externalId" = ANY($1)) AS events,
              (SELECT count(*)::int FROM "Work" w JOIN "InboundEvent" e ON w."sourceId" = e.id::text
                WHERE e."externalId" = ANY($1)) AS works`,
      [[a.externalId, b.externalId]],
    );
    expect(counts).toEqual({ events: 2, works: 2 });
  });

  it('records an event with no route as dropped, opening nothing', async () => {
    const event = delivery({ route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 } });
    const first = await ingest.ingest(event);
    const again = await ingest.ingest(event);
    expect(first).toMatchObject({ decision: 'dropped', workId: null, duplicate: false });
    expect(again).toMatchObject({ decision: 'dropped', eventId: first.eventId, duplicate: true });
  });

  it('fails only the event the database refuses when it shared a batch', async () => {
    // PostgreSQL's jsonb cannot hold U+0000: this one statement fails, and the batch is
    // written again one event at a time.
    const bad = delivery({ body: { text: 'nul \u0000 here' } });
    const good = Array.from({ length: 10 }, () => delivery());
    const results = await Promise.allSettled([
      ...good.map((e) => ingest.ingest(e)),
      ingest.ingest(bad),
    ]);
    expect(results.slice(0, 10).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[10]!.status).toBe('rejected');
    const [row] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM "InboundEvent" WHERE "externalId" = ANY($1)',
      [[...good, bad].map((e) => e.externalId)],
    );
    expect(row!.n).toBe(10);
  });
});
