import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import fc from 'fast-check';
import { normalizeRetryPolicy, transition, type WorkSnapshot } from '@app/core';
import { LeaseLostError, type RunHandle, RunStore, Suspend } from '@app/engine';
import { LeaseService, LedgerDatabase, toSnapshot } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  accepted,
  arbSnapshot,
  arbTokenChoice,
  createRunStoreContext,
  DIFF_SEED,
  insertStep,
  insertWork,
  leaseOnDatabaseClock,
  readTimeline,
  readWork,
  tokenFor,
} from '@test/work-differential';

/**
 * The run's SQL against the state machine (docs/decisions.md, "SQL that restates
 * transition()"): the checkpoint CTE (on its own and with the next step's start), the
 * heartbeat, the claim (lock-free and locked), the completion (lock-free, with and
 * without the last step's checkpoint, and locked) and the interrupt restart. Each
 * property inserts a generated snapshot as a Work row, runs the path on the row and
 * transition() on the snapshot, and compares state, version, lease, checkpointSeq,
 * flags and the timeline entry.
 */
const NUM_RUNS = 60;

/** A RUNNING snapshot for the regression examples (the counterexamples fast-check found). */
const FIXED_RUNNING: WorkSnapshot = {
  state: 'RUNNING',
  pausedFrom: null,
  attempt: 1,
  retryPolicy: normalizeRetryPolicy({ maxAttempts: 1, initialIntervalMs: 0, jitter: 0 }),
  runSeq: 1,
  leaseOwner: 'worker-0',
  leaseToken: 1n,
  leaseExpiresAt: null,
  runAfter: null,
  pauseRequested: false,
  cancelRequested: false,
  checkpointSeq: 0,
  version: 0,
};

describe('state machine differential: the run paths', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let store: RunStore;
  let leases: LeaseService;
  let transactions: jest.SpyInstance;

  beforeAll(async () => {
    db = await createTestSchema('diffrun');
    prefix = testQueuePrefix();
    ctx = await createRunStoreContext(testConfig({ schema: db.schema, prefix }));
    store = ctx.get(RunStore);
    leases = ctx.get(LeaseService);
    // Counted, not replaced: which path a write took.
    transactions = jest.spyOn(ctx.get(LedgerDatabase), 'transaction');
  });

  afterAll(async () => {
    transactions?.mockRestore();
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const runs = (numRuns = NUM_RUNS) => ({ numRuns, seed: DIFF_SEED });

  /** The run's error, or null: what a path throws is part of what it decides. */
  const caught = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: unknown) => err,
    );

  it('the checkpoint CTE equals step_completed (on its own, and with the next step start)', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        arbSnapshot(now),
        arbTokenChoice,
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('own' as const, 'with-next-start' as const),
        async (snap, choice, seqs, via) => {
          const workId = await insertWork(db, snap);
          const token = tokenFor(snap, choice);
          const steps = [];
          for (const seq of seqs) steps.push({ id: await insertStep(db, workId, { seq }), seq });
          const run: RunHandle = { workId, token, workerId: 'diff' };
          for (const s of steps)
            await store.checkpoints.completeStep(
              run,
              { id: s.id, seq: s.seq, name: `s${s.seq}` },
              s.seq * 10,
            );
          const nextSeq = Math.max(...seqs) + 1;
          const error = await caught(
            via === 'own'
              ? store.checkpoints.settle(run)
              : store.steps.start(run, nextSeq, 'next', 'task'),
          );

          // Several checkpoints of one run are ONE step_completed, to the highest seq.
          const top = Math.max(...seqs);
          const expected = transition(snap, { type: 'step_completed', token, seq: top });
          const row = await readWork(db, workId);
          const stepRows = await db.query<{ seq: number; status: string; output: unknown }>(
            'SELECT seq, status, output FROM "Step" WHERE "workId" = $1 ORDER BY seq',
            [workId],
          );
          const timeline = await readTimeline(db, workId);
          if (!expected.ok) {
            expect(error).toBeInstanceOf(LeaseLostError);
            expect(toSnapshot(row)).toEqual(snap);
            expect(stepRows.every((s) => s.status === 'running')).toBe(true);
            expect(timeline).toEqual([]);
            return;
          }
          expect(toSnapshot(row)).toEqual(expected.next);
          // Every step's output, whatever the transition decided (the boundary is after them).
          for (const s of steps)
            expect(stepRows.find((r) => r.seq === s.seq)).toMatchObject({
              status: 'completed',
              output: { v: s.seq * 10 },
            });
          if (expected.event === 'step_completed') {
            // The hot path: no timeline entry (the Step row is the record).
            expect(error).toBeNull();
            expect(timeline).toEqual([]);
            expect(stepRows.some((s) => s.seq === nextSeq)).toBe(via === 'with-next-start');
          } else {
            // A pause or cancel pending lands here, through the locked transition.
            expect(error).toBeInstanceOf(Suspend);
            expect(timeline.map((e) => [e.type, e.data])).toEqual([
              [
                expected.event,
                { from: snap.state, to: expected.next.state, seq: top, step: `s${top}` },
              ],
            ]);
            expect(stepRows.some((s) => s.seq === nextSeq)).toBe(false);
          }
        },
      ),
      runs(),
    );
  });

  it('the heartbeat equals heartbeat, without the version bump', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        arbSnapshot(now),
        arbTokenChoice,
        fc.integer({ min: 1, max: 120_000 }),
        async (snap, choice, leaseMs) => {
          const workId = await insertWork(db, snap);
          const token = tokenFor(snap, choice);
          const beat = await leases.heartbeat(workId, token, leaseMs);
          const expected = transition(snap, { type: 'heartbeat', token, leaseMs, now });
          const row = await readWork(db, workId);
          expect(beat.held).toBe(expected.ok);
          if (!expected.ok) {
            expect(toSnapshot(row)).toEqual(snap);
            expect(row.lastHeartbeatAt).toBeNull();
            return;
          }
          expect(beat.cancelRequested).toBe(snap.cancelRequested);
          // decisions.md, "Heartbeats skip the timeline": fenced on the lease token, so the
          // version stays (a run's known row stays valid across its heartbeats).
          expect(toSnapshot(row)).toEqual(
            leaseOnDatabaseClock({ ...expected.next, version: snap.version }, row, leaseMs),
          );
          expect(await readTimeline(db, workId)).toEqual([]);
        },
      ),
      runs(),
    );
  });

  it('the claim equals claim, lock-free (applyKnown) and locked (apply)', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        arbSnapshot(now),
        fc.constantFrom('run-store' as const, 'locked' as const),
        fc.integer({ min: 1, max: 120_000 }),
        async (snap, via, leaseMs) => {
          const workId = await insertWork(db, snap);
          const owner = `worker-${randomUUID().slice(0, 8)}`;
          // RunStore.claim takes the lock-free statement for a QUEUED row, the lease
          // service the locked transaction.
          const before = transactions.mock.calls.length;
          const claimed =
            via === 'run-store'
              ? await store.claims.claim(workId, owner, leaseMs)
              : await leases.claim(workId, owner, leaseMs);
          const expected = transition(snap, { type: 'claim', owner, leaseMs, now: Date.now() });
          const row = await readWork(db, workId);
          const timeline = await readTimeline(db, workId);
          if (!expected.ok) {
            expect(claimed).toMatchObject({ ok: false, code: expected.code });
            expect(toSnapshot(row)).toEqual(snap);
            expect(timeline).toEqual([]);
            return;
          }
          expect(claimed).toMatchObject({ ok: true, token: expected.next.leaseToken });
          // The run store's claim of a QUEUED row is the lock-free statement (then its load).
          expect(transactions.mock.calls.length - before).toBe(via === 'run-store' ? 0 : 1);
          expect(toSnapshot(row)).toEqual(leaseOnDatabaseClock(expected.next, row, leaseMs));
          expect(timeline.map((e) => [e.type, e.data, e.actor])).toEqual([
            ['claimed', { from: 'QUEUED', to: 'RUNNING', owner }, `worker:${owner}`],
          ]);
        },
      ),
      runs(),
    );
  });

  it('the completion equals complete (lock-free with the last checkpoint, lock-free, locked)', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        arbSnapshot(now, ['RUNNING', 'RUNNING', 'RUNNING', 'QUEUED', 'WAITING', 'PAUSED']),
        arbTokenChoice,
        fc.constantFrom('known' as const, 'known-with-step' as const, 'locked' as const),
        fc.integer({ min: 1, max: 40 }),
        async (snap, choice, via, seq) => {
          const workId = await insertWork(db, snap);
          const token = tokenFor(snap, choice);
          const run: RunHandle = { workId, token, workerId: 'diff' };
          // The row the run last wrote: what the lock-free completion decides on.
          if (via !== 'locked') run.known = await readWork(db, workId);
          let stepId: string | undefined;
          if (via === 'known-with-step') {
            stepId = await insertStep(db, workId, { seq });
            // Pending, not written: the completion carries it (applyKnown's step).
            run.pending = [{ stepId, seq, name: `s${seq}`, output: JSON.stringify({ v: 'last' }) }];
          }
          const error = await caught(store.ends.complete(run, { done: seq }));

          // With the last step's checkpoint: step_completed then complete, one version bump
          // (the two are one statement; the intermediate version is never visible).
          const before: WorkSnapshot =
            via === 'known-with-step'
              ? { ...snap, checkpointSeq: Math.max(snap.checkpointSeq, seq) }
              : snap;
          const checkpoint =
            via === 'known-with-step'
              ? transition(snap, { type: 'step_completed', token, seq })
              : null;
          const expected =
            checkpoint && checkpoint.ok && checkpoint.event !== 'step_completed'
              ? checkpoint // a pending pause or cancel lands at the checkpoint instead
              : transition(before, { type: 'complete', token });
          const row = await readWork(db, workId);
          const timeline = await readTimeline(db, workId);
          if (!expected.ok) {
            expect(error).toBeInstanceOf(LeaseLostError);
            expect(toSnapshot(row)).toEqual(snap);
            expect(timeline).toEqual([]);
            return;
          }
          const next = { ...expected.next };
          if (expected.event === 'completed') {
            expect(error).toBeNull();
            expect(toSnapshot(row)).toEqual(next);
            expect(row.output).toEqual({ done: seq });
            expect(row.finishedAt).not.toBeNull();
            expect(timeline.map((e) => [e.type, e.data])).toEqual([
              ['completed', { from: 'RUNNING', to: 'COMPLETED' }],
            ]);
          } else {
            expect(error).toBeInstanceOf(Suspend);
            expect(toSnapshot(row)).toEqual(next);
            expect(timeline.map((e) => e.type)).toEqual([expected.event]);
          }
          if (stepId) {
            const [step] = await db.query<{ status: string; output: unknown }>(
              'SELECT status, output FROM "Step" WHERE id = $1',
              [stepId],
            );
            expect(step).toEqual({ status: 'completed', output: { v: 'last' } });
          }
        },
      ),
      {
        ...runs(),
        // Regression: the completion written with the last checkpoint on a known row with
        // a cancel pending completed the work; the checkpoint is where the cancel lands.
        examples: [
          [
            {
              ...FIXED_RUNNING,
              leaseExpiresAt: now + 60_000,
              cancelRequested: true,
            },
            'current',
            'known-with-step',
            1,
          ],
          [
            { ...FIXED_RUNNING, leaseExpiresAt: now + 60_000, pauseRequested: true },
            'current',
            'known-with-step',
            3,
          ],
        ],
      },
    );
  });

  it('the interrupt restart equals release with the checkpoint moved back', async () => {
    const now = Date.now();
    await fc.assert(
      fc.asyncProperty(
        arbSnapshot(now, ['RUNNING', 'RUNNING', 'RUNNING', 'QUEUED', 'PAUSED']),
        arbTokenChoice,
        fc.array(
          fc.record({
            inbox: fc.boolean(),
            status: fc.constantFrom('completed', 'completed', 'running', 'failed'),
          }),
          { maxLength: 4 },
        ),
        async (snap, choice, stepSpecs) => {
          const workId = await insertWork(db, snap);
          await db.query(`UPDATE "Work" SET "interruptRequestedAt" = now() WHERE id = $1`, [
            workId,
          ]);
          const token = tokenFor(snap, choice);
          for (const [i, s] of stepSpecs.entries())
            await insertStep(db, workId, {
              seq: i + 1,
              name: s.inbox ? '$inbox' : `s${i + 1}`,
              status: s.status,
            });
          const run: RunHandle = { workId, token, workerId: 'diff' };
          const result = store.ends.restartForInterrupt(run);
          const error = await caught(result);

          // RunStore.restartForInterrupt's rule: from the last inbox read, else from the
          // first step not completed, else nothing discarded.
          const lastInbox = stepSpecs
            .map((s, i) => (s.inbox ? i + 1 : 0))
            .filter(Boolean)
            .at(-1);
          const firstOpen = stepSpecs.findIndex((s) => s.status !== 'completed');
          const fromSeq = lastInbox ?? (firstOpen === -1 ? null : firstOpen + 1);
          const rewound: WorkSnapshot = {
            ...snap,
            checkpointSeq:
              fromSeq === null ? snap.checkpointSeq : Math.min(snap.checkpointSeq, fromSeq - 1),
          };
          const expected = transition(rewound, { type: 'release', token });
          const row = await readWork(db, workId);
          const timeline = await readTimeline(db, workId);
          if (!expected.ok) {
            expect(error).toBeInstanceOf(LeaseLostError);
            expect(toSnapshot(row)).toEqual(snap);
            expect(timeline).toEqual([]);
            return;
          }
          const released = accepted(expected);
          // A pause or cancel pending lands in the release; the run is ending anyway.
          expect(error).toBeNull();
          expect(await result).toBe(fromSeq);
          expect(toSnapshot(row)).toEqual(released.next);
          expect(
            (row as unknown as { interruptRequestedAt: Date | null }).interruptRequestedAt,
          ).toBeNull();
          expect(timeline.map((e) => e.type)).toEqual(['interrupted', released.event]);
          const left = await db.query<{ seq: number }>(
            'SELECT seq FROM "Step" WHERE "workId" = $1 ORDER BY seq',
            [workId],
          );
          expect(left.map((s) => s.seq)).toEqual(
            stepSpecs.map((_, i) => i + 1).filter((s) => fromSeq === null || s < fromSeq),
          );
        },
      ),
      runs(),
    );
  });
});
