import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { type InboundEventInput, type IngestResult } from '@app/core';
import { IngestService, LedgerDatabase } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { jobIdsIn } from '@test/queue';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/**
 * A reply with a correlation key that resumes an open wait of a WAITING work is read,
 * decided and written in one statement outside a transaction (IngestService's
 * resumeInOneStatement). These tests hold a row it needs locked by another
 * transaction, change that row, and let go: the statement must then write nothing and
 * the transaction path decide — never a wait resolved without its work, or twice.
 */
describe('ingest: a reply resumed in one statement', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let ingest: IngestService;
  let transactions: jest.SpyInstance;
  let n = 0;

  beforeAll(async () => {
    db = await createTestSchema('resume1');
    prefix = testQueuePrefix();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
    ingest = ctx.get(IngestService);
    // Counted, not replaced: which path an event took.
    transactions = jest.spyOn(ctx.get(LedgerDatabase), 'transaction');
  });

  afterAll(async () => {
    transactions?.mockRestore();
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  /** A work WAITING on an event wait for `key`, as a run leaves it (see insertWaiters in bench). */
  async function waitingWork(key: string): Promise<{ workId: string; waitId: string }> {
    const workId = randomUUID();
    const waitId = randomUUID();
    await db.query(
      `WITH w AS (
         INSERT INTO "Work" (id, kind, state, "sourceType", input, attempt, "retryPolicy", "runSeq",
           "leaseToken", "checkpointSeq", "waitReason", version, "createdAt", "updatedAt")
         VALUES ($1, 'test.waiter', 'WAITING', 'api', '{}', 1,
           '{"jitter":0,"maxAttempts":3,"maxIntervalMs":1000,"initialIntervalMs":100,"backoffCoefficient":2,"nonRetryableErrors":[]}',
           1, 1, 0, 'event', 3, now(), now())
       ), s AS (
         INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
         VALUES ($2, $1, 1, 'waitFor', 'wait', $1 || ':1', 'running', 1, 'test', now())
       ), t AS (
         INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
         VALUES ($1, 1, 'created', '{}', 'test', now()), ($1, 2, 'waiting', '{}', 'test', now())
       )
       INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "correlationKey", "onTimeout", "createdAt")
       VALUES ($3, $1, 1, 'event', 'open', $4, 'fail', now())`,
      [workId, randomUUID(), waitId, key],
    );
    return { workId, waitId };
  }

  function reply(key: string, opts: Partial<InboundEventInput> = {}): InboundEventInput {
    const id = `r${++n}`;
    return {
      channel: 'webhook',
      source: 'ci',
      externalId: `ci:${id}`,
      conversationKey: `webhook:${key}`,
      correlationKey: key,
      actor: { id: 'webhook:ci' },
      raw: { id },
      body: { source: 'ci', correlationKey: key, payload: { id } },
      answer: { status: 'done', id },
      reference: null,
      command: null,
      route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
      ...opts,
    };
  }

  /** What the ledger holds for a work after a reply: one row per question asked. */
  async function ledger(workId: string, waitId: string) {
    const [work] = await db.query<{ state: string; version: number }>(
      'SELECT state, version FROM "Work" WHERE id = $1',
      [workId],
    );
    const [wait] = await db.query<{ status: string; result: unknown; by: string | null }>(
      'SELECT status, result, "satisfiedByEventId" AS by FROM "Wait" WHERE id = $1',
      [waitId],
    );
    const [step] = await db.query<{ status: string; output: unknown }>(
      'SELECT status, output FROM "Step" WHERE "workId" = $1 AND seq = 1',
      [workId],
    );
    const timeline = await db.query<{ seq: number; type: string; data: Record<string, unknown> }>(
      'SELECT seq, type, data FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    const events = await db.query<{ id: string; decision: string; workId: string | null }>(
      `SELECT id, decision, "workId" FROM "InboundEvent" WHERE "correlationKey" = $1 ORDER BY seq`,
      [
        (
          await db.query<{ key: string }>(
            'SELECT "correlationKey" AS key FROM "Wait" WHERE id = $1',
            [waitId],
          )
        )[0]!.key,
      ],
    );
    return { work, wait, step, timeline, events };
  }

  /**
   * Runs `change` in a transaction that first locks `lockSql`'s row, starts `ingest`
   * while it holds the lock, waits until the resume statement is blocked on it (seen in
   * pg_stat_activity, not guessed with a sleep; its text is cut at 1 kB, so by its head:
   * the locks, then the wait), then commits.
   */
  async function racing(
    lockSql: string,
    params: unknown[],
    event: InboundEventInput,
  ): Promise<IngestResult> {
    const blocker = await db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(lockSql, params);
      const pending = ingest.ingest(event);
      await until(
        async () =>
          // Not on the blocker's connection: inside its transaction, pg_stat_activity is a
          // snapshot taken at the first read.
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE '%locked AS%wait AS%'`,
            )
          ).length,
        'the one-statement resume to wait on the locked row',
      );
      await blocker.query('COMMIT');
      return await pending;
    } finally {
      await blocker.end();
    }
  }

  it('resumes the wait, completes its step, moves the work and records the event, without a transaction', async () => {
    const { workId, waitId } = await waitingWork('order-1');
    transactions.mockClear();
    const event = reply('order-1');
    const result = await ingest.ingest(event);
    expect(transactions).not.toHaveBeenCalled();
    expect(result).toMatchObject({ decision: 'resumed', workId, waitId, duplicate: false });
    const { work, wait, step, timeline, events } = await ledger(workId, waitId);
    expect(work).toEqual({ state: 'QUEUED', version: 4 });
    expect(wait).toEqual({ status: 'satisfied', result: event.answer, by: result.eventId });
    expect(step).toEqual({ status: 'completed', output: { v: event.answer } });
    expect(timeline.map((t) => [t.seq, t.type])).toEqual([
      [1, 'created'],
      [2, 'waiting'],
      [3, 'wait_satisfied'],
    ]);
    expect(timeline[2]!.data).toMatchObject({
      from: 'WAITING',
      to: 'QUEUED',
      eventId: result.eventId,
      waitId,
    });
    expect(events).toEqual([{ id: result.eventId, decision: 'resumed', workId }]);
    // Enqueued before ingest() returned.
    expect((await jobIdsIn(prefix)).some((id) => id.startsWith(`work:${workId}:`))).toBe(true);
  });

  it('answers a repeated delivery with the first one, writing nothing', async () => {
    const { workId, waitId } = await waitingWork('order-2');
    const event = reply('order-2');
    const first = await ingest.ingest(event);
    const again = await ingest.ingest(event);
    expect(again).toMatchObject({ eventId: first.eventId, duplicate: true, decision: 'resumed' });
    const { work, timeline, events } = await ledger(workId, waitId);
    expect(work!.version).toBe(4);
    expect(timeline.filter((t) => t.type === 'wait_satisfied')).toHaveLength(1);
    expect(events).toHaveLength(1);
  });

  it('resumes once when the same delivery arrives many times at once', async () => {
    const { workId, waitId } = await waitingWork('order-3');
    const event = reply('order-3');
    const results = await Promise.all(Array.from({ length: 8 }, () => ingest.ingest(event)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.eventId)).size).toBe(1);
    const { timeline, events, wait } = await ledger(workId, waitId);
    expect(wait!.status).toBe('satisfied');
    expect(timeline.filter((t) => t.type === 'wait_satisfied')).toHaveLength(1);
    expect(events).toHaveLength(1);
  });

  it('lets one of many different replies at once resume the wait; the rest go to the inbox', async () => {
    const { workId, waitId } = await waitingWork('order-4');
    const results = await Promise.all(
      Array.from({ length: 8 }, () => ingest.ingest(reply('order-4'))),
    );
    expect(results.filter((r) => r.decision === 'resumed')).toHaveLength(1);
    expect(results.filter((r) => r.decision === 'inbox')).toHaveLength(7);
    const { wait, timeline, events } = await ledger(workId, waitId);
    expect(wait!.by).toBe(results.find((r) => r.decision === 'resumed')!.eventId);
    expect(timeline.filter((t) => t.type === 'wait_satisfied')).toHaveLength(1);
    expect(events).toHaveLength(8);
  });

  it('writes nothing when the wait was resolved after the read, and the transaction decides', async () => {
    const { workId, waitId } = await waitingWork('order-5');
    transactions.mockClear();
    // A timeout (say) resolves the wait after the candidates were read.
    const result = await racing(
      `UPDATE "Wait" SET status = 'timed_out', "resolvedAt" = now() WHERE id = $1`,
      [waitId],
      reply('order-5'),
    );
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(result.decision).toBe('inbox');
    const { work, wait, timeline, events } = await ledger(workId, waitId);
    expect(wait).toMatchObject({ status: 'timed_out', by: null });
    expect(work).toEqual({ state: 'WAITING', version: 3 });
    expect(timeline.map((t) => t.type)).not.toContain('wait_satisfied');
    expect(events).toEqual([{ id: result.eventId, decision: 'inbox', workId }]);
  });

  it('rolls the resolved wait back when the work moved on meanwhile, and the transaction resumes it', async () => {
    const { workId, waitId } = await waitingWork('order-6');
    transactions.mockClear();
    // Something else writes the work (a new version) after the read, leaving the wait open:
    // the statement resolves the wait, then finds the work changed; the guard undoes it.
    const result = await racing(
      `UPDATE "Work" SET version = version + 1, "updatedAt" = now() WHERE id = $1`,
      [workId],
      reply('order-6'),
    );
    expect(transactions).toHaveBeenCalledTimes(1);
    expect(result).toMatchObject({ decision: 'resumed', workId, waitId });
    const { work, wait, timeline, events } = await ledger(workId, waitId);
    expect(work).toEqual({ state: 'QUEUED', version: 5 });
    expect(wait).toMatchObject({ status: 'satisfied', by: result.eventId });
    expect(timeline.filter((t) => t.type === 'wait_satisfied')).toHaveLength(1);
    expect(events).toEqual([{ id: result.eventId, decision: 'resumed', workId }]);
  });
});
