import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import fc from 'fast-check';
import {
  DEFAULT_RETRY_POLICY,
  type InboundEventInput,
  transition,
  type WorkSnapshot,
} from '@app/core';
import { IngestService, LedgerDatabase, toSnapshot } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  accepted,
  arbSnapshot,
  DIFF_SEED,
  insertStep,
  insertWork,
  readTimeline,
  readWork,
} from '@test/work-differential';

/**
 * Ingest's SQL against the state machine (docs/decisions.md, "SQL that restates
 * transition()"): the reply that resumes a wait (in one statement, RESUME_KNOWN, or in
 * the transaction, RESUME), the event that opens a work in one statement
 * (WRITE_DECIDED), and the interrupt flag. Each property inserts a generated snapshot
 * as a Work row, ingests an event, runs transition() on the snapshot, and compares.
 */
const NUM_RUNS = 60;

describe('state machine differential: ingest', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let ingest: IngestService;
  let transactions: jest.SpyInstance;
  let n = 0;

  beforeAll(async () => {
    db = await createTestSchema('diffingest');
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

  const runs = (numRuns = NUM_RUNS) => ({ numRuns, seed: DIFF_SEED });

  function event(opts: Partial<InboundEventInput>): InboundEventInput {
    const id = `d${++n}-${randomUUID().slice(0, 8)}`;
    return {
      channel: 'webhook',
      source: 'diff',
      externalId: `diff:${id}`,
      conversationKey: null,
      correlationKey: null,
      actor: { id: 'webhook:diff' },
      raw: { id },
      body: { id },
      answer: { id },
      reference: null,
      command: null,
      route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
      ...opts,
    };
  }

  it('a reply resuming a wait equals wait_satisfied (in one statement, and in the transaction)', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        // An open wait exists only on a WAITING work, or one PAUSED while waiting.
        arbSnapshot(now, ['WAITING', 'WAITING', 'PAUSED']).map((s): WorkSnapshot =>
          s.state === 'PAUSED' ? { ...s, pausedFrom: 'WAITING' } : s,
        ),
        fc.constantFrom('event' as const, 'webhook' as const),
        fc.integer({ min: 1, max: 30 }),
        async (snap, waitType, stepSeq) => {
          const key = `diff-${randomUUID()}`;
          const workId = await insertWork(db, snap);
          await insertStep(db, workId, { seq: stepSeq, type: 'wait' });
          const waitId = randomUUID();
          await db.query(
            `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "correlationKey", "onTimeout", "createdAt")
             VALUES ($1, $2, $3, $4::"WaitType", 'open', $5, 'fail', now())`,
            [waitId, workId, stepSeq, waitType, key],
          );
          const reply = event({ correlationKey: key, conversationKey: `webhook:${key}` });
          const before = transactions.mock.calls.length;
          const result = await ingest.ingest(reply);
          // A WAITING work's reply is written in one statement; a paused one's (planKnown
          // leaves it to the locked path) in the transaction.
          expect(transactions.mock.calls.length - before).toBe(snap.state === 'WAITING' ? 0 : 1);

          const expected = accepted(transition(snap, { type: 'wait_satisfied' }));
          expect(result).toMatchObject({ decision: 'resumed', workId, waitId });
          const row = await readWork(db, workId);
          expect(toSnapshot(row)).toEqual(expected.next);
          expect((await readTimeline(db, workId)).map((e) => [e.type, e.data])).toEqual([
            [
              'wait_satisfied',
              { from: snap.state, to: expected.next.state, eventId: result.eventId, waitId },
            ],
          ]);
          const [step] = await db.query<{ status: string; output: unknown }>(
            'SELECT status, output FROM "Step" WHERE "workId" = $1 AND seq = $2',
            [workId, stepSeq],
          );
          expect(step).toEqual({ status: 'completed', output: { v: reply.answer } });
          const [wait] = await db.query<{ status: string }>(
            'SELECT status FROM "Wait" WHERE id = $1',
            [waitId],
          );
          expect(wait).toEqual({ status: 'satisfied' });
        },
      ),
      runs(),
    );
  });

  it('an event opening a work in one statement equals create', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z][a-z0-9.]{0,20}$/), async (kind) => {
        const before = transactions.mock.calls.length;
        const opened = await ingest.ingest(
          event({ route: { openKind: kind, busyPolicy: 'inbox', collectWindowMs: 0 } }),
        );
        expect(opened.decision).toBe('opened');
        expect(transactions.mock.calls.length).toBe(before); // WRITE_DECIDED, no transaction
        const expected = accepted(
          transition(null, { type: 'create', retryPolicy: DEFAULT_RETRY_POLICY }),
        );
        const row = await readWork(db, opened.workId!);
        expect(toSnapshot(row)).toEqual(expected.next);
        expect(row.kind).toBe(kind);
        const timeline = await readTimeline(db, opened.workId!);
        expect(timeline.map((e) => [e.seq, e.type])).toEqual([[1, expected.event]]);
        expect(timeline[0]!.data).toMatchObject({ kind, eventId: opened.eventId });
      }),
      runs(20),
    );
  });

  it('the interrupt flag changes no state the machine decides on', async () => {
    const now = Date.now();
    const decisions = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbSnapshot(now), async (snap) => {
        const conversationKey = `chat:${randomUUID()}`;
        const workId = await insertWork(db, snap, { conversationKey });
        const result = await ingest.ingest(
          event({
            conversationKey,
            route: { openKind: null, busyPolicy: 'interrupt', collectWindowMs: 0 },
          }),
        );
        decisions.add(`${snap.state}:${result.decision}`);
        const row = await readWork(db, workId);
        // Outside WorkSnapshot: the flag asks the run to restart at its next heartbeat;
        // the restart itself is a release (see the run paths' spec).
        expect(toSnapshot(row)).toEqual(snap);
        const flagged = (row as unknown as { interruptRequestedAt: Date | null })
          .interruptRequestedAt;
        expect(flagged !== null).toBe(
          result.decision === 'interrupted' &&
            (snap.state === 'RUNNING' || snap.state === 'QUEUED'),
        );
      }),
      runs(),
    );
    // The generated works reached the flag's statement, for both states it flags.
    expect(decisions).toContain('RUNNING:interrupted');
    expect(decisions).toContain('QUEUED:interrupted');
  });
});
