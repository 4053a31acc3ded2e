import { randomUUID } from 'node:crypto';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fc from 'fast-check';
import {
  normalizeRetryPolicy,
  stepIdempotencyKey,
  type TransitionResult,
  WORK_STATES,
  type WorkSnapshot,
  type WorkState,
} from '@app/core';
import { type AppConfig, ConfigModule, createLogger } from '@app/config';
import { EngineModule, RunStore } from '@app/engine';
import { LedgerModule, toSnapshot, type WorkRow } from '@app/ledger';
import { type TestSchema } from './db';

/**
 * Differential tests of the SQL that restates `transition()` (docs/decisions.md, "SQL
 * that restates transition()"): generated Work snapshots are inserted as rows, the SQL
 * path runs on the row, `transition()` on the snapshot, and the two results are compared.
 */

/** The seed of every differential property: fixed, so a failure reproduces; override to explore. */
export const DIFF_SEED = Number(process.env.DIFF_SEED ?? 0x5eed_d1ff);

/** The ledger and the run store, wired as the worker wires them, with no BullMQ worker running. */
export async function createRunStoreContext(config: AppConfig): Promise<INestApplicationContext> {
  @Module({
    imports: [
      ConfigModule.forRoot({ config, logger: createLogger(config, 'test'), name: 'test' }),
      LedgerModule,
      EngineModule.forGateway(),
    ],
    providers: [RunStore],
  })
  class RunStoreTestModule {}
  return NestFactory.createApplicationContext(RunStoreTestModule, { logger: false });
}

const arbPolicy = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 5 }),
    initialIntervalMs: fc.integer({ min: 0, max: 5_000 }),
    backoffCoefficient: fc.double({ min: 1, max: 4, noNaN: true }),
    maxIntervalMs: fc.integer({ min: 0, max: 60_000 }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    nonRetryableErrors: fc.subarray(['bad_input', 'forbidden']),
  })
  .map(normalizeRetryPolicy);

/** An offset from now at least 5 s away from it: a decision on "due" cannot flip while a test runs. */
const arbFarOffset = fc.oneof(
  fc.integer({ min: -600_000, max: -5_000 }),
  fc.integer({ min: 5_000, max: 600_000 }),
);

/**
 * Any snapshot the ledger can hold (the invariants transition() keeps): a lease, a
 * heartbeat and pending pause/cancel requests only while RUNNING, pausedFrom only while
 * PAUSED, a backoff only on a work waiting to run. Times are around `now`.
 */
export function arbSnapshot(
  now: number,
  states: readonly WorkState[] = WORK_STATES,
): fc.Arbitrary<WorkSnapshot> {
  return fc
    .record({
      state: fc.constantFrom(...states),
      pausedFrom: fc.constantFrom('QUEUED' as const, 'WAITING' as const),
      attempt: fc.integer({ min: 1, max: 5 }),
      retryPolicy: arbPolicy,
      runSeq: fc.integer({ min: 1, max: 50 }),
      leaseToken: fc.bigInt({ min: 1n, max: 1n << 40n }),
      leaseLeftMs: arbFarOffset,
      runAfter: fc.option(arbFarOffset, { nil: null }),
      pauseRequested: fc.boolean(),
      cancelRequested: fc.boolean(),
      checkpointSeq: fc.nat(30),
      version: fc.nat(100_000),
    })
    .map((r): WorkSnapshot => {
      const running = r.state === 'RUNNING';
      const pausedFrom = r.state === 'PAUSED' ? r.pausedFrom : null;
      const waitsToRun = r.state === 'QUEUED' || pausedFrom === 'QUEUED';
      return {
        state: r.state,
        pausedFrom,
        attempt: Math.min(r.attempt, r.retryPolicy.maxAttempts),
        retryPolicy: r.retryPolicy,
        runSeq: r.runSeq,
        leaseOwner: running ? 'worker-0' : null,
        leaseToken: r.leaseToken,
        leaseExpiresAt: running ? now + r.leaseLeftMs : null,
        runAfter: waitsToRun && r.runAfter !== null ? now + r.runAfter : null,
        pauseRequested: running && r.pauseRequested,
        cancelRequested: running && r.cancelRequested,
        checkpointSeq: r.checkpointSeq,
        version: r.version,
      };
    });
}

/**
 * The token a command presents: the work's own (most often), one an earlier claim held,
 * or one no claim has issued yet.
 */
export const arbTokenChoice = fc.constantFrom(
  'current' as const,
  'current' as const,
  'current' as const,
  'older' as const,
  'newer' as const,
);

export function tokenFor(work: WorkSnapshot, choice: 'current' | 'older' | 'newer'): bigint {
  if (choice === 'current') return work.leaseToken;
  return choice === 'newer' ? work.leaseToken + 1n : work.leaseToken - 1n;
}

const ms = (v: number | null) => (v === null ? null : new Date(v));

/** Inserts `snapshot` as a Work row (a new id unless given); returns the id. */
export async function insertWork(
  db: TestSchema,
  snapshot: WorkSnapshot,
  extra: { id?: string; conversationKey?: string | null; kind?: string } = {},
): Promise<string> {
  const id = extra.id ?? randomUUID();
  await db.query(
    `INSERT INTO "Work" (id, kind, state, "pausedFrom", "sourceType", "conversationKey", input, attempt,
       "retryPolicy", "runAfter", "runSeq", "leaseOwner", "leaseToken", "leaseExpiresAt", "checkpointSeq",
       "pauseRequested", "cancelRequested", version, "createdAt", "updatedAt")
     VALUES ($1, $2, $3, $4, 'api', $5, '{}', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now(), now())`,
    [
      id,
      extra.kind ?? 'diff.work',
      snapshot.state,
      snapshot.pausedFrom,
      extra.conversationKey ?? null,
      snapshot.attempt,
      JSON.stringify(snapshot.retryPolicy),
      ms(snapshot.runAfter),
      snapshot.runSeq,
      snapshot.leaseOwner,
      snapshot.leaseToken.toString(),
      ms(snapshot.leaseExpiresAt),
      snapshot.checkpointSeq,
      snapshot.pauseRequested,
      snapshot.cancelRequested,
      snapshot.version,
    ],
  );
  return id;
}

/** A Step row of `workId` at `seq`, as a run leaves it (running unless told). */
export async function insertStep(
  db: TestSchema,
  workId: string,
  step: { id?: string; seq: number; name?: string; type?: string; status?: string },
): Promise<string> {
  const id = step.id ?? randomUUID();
  await db.query(
    `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt", "finishedAt")
     VALUES ($1, $2, $3, $4, $5::"StepType", $6, $7::"StepStatus", 1, 'diff', now(),
       CASE WHEN $7::"StepStatus" = 'running' THEN NULL ELSE now() END)`,
    [
      id,
      workId,
      step.seq,
      step.name ?? `s${step.seq}`,
      step.type ?? 'task',
      stepIdempotencyKey(workId, step.seq, id),
      step.status ?? 'running',
    ],
  );
  return id;
}

export async function readWork(db: TestSchema, workId: string): Promise<WorkRow> {
  const [row] = await db.query<WorkRow & Record<string, unknown>>(
    'SELECT * FROM "Work" WHERE id = $1',
    [workId],
  );
  if (!row) throw new Error(`no work ${workId}`);
  return row;
}

/**
 * A row's snapshot with its lease as a length (expiry − heartbeat) instead of an instant:
 * two paths run a moment apart write the same lease, at different clock readings.
 */
export function snapshotWithLeaseLength(row: WorkRow): Omit<WorkSnapshot, 'leaseExpiresAt'> & {
  leaseExpiresAt: number | null;
} {
  const leaseMs =
    row.leaseExpiresAt && row.lastHeartbeatAt
      ? row.leaseExpiresAt.getTime() - row.lastHeartbeatAt.getTime()
      : null;
  return { ...toSnapshot(row), leaseExpiresAt: leaseMs };
}

export async function readSnapshot(db: TestSchema, workId: string): Promise<WorkSnapshot> {
  return toSnapshot(await readWork(db, workId));
}

export interface TimelineEntry {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  actor: string | null;
}

export function readTimeline(db: TestSchema, workId: string): Promise<TimelineEntry[]> {
  return db.query<TimelineEntry & Record<string, unknown>>(
    'SELECT seq, type, data, actor FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
    [workId],
  );
}

/**
 * The lease a claim or a heartbeat wrote is on PostgreSQL's clock (now() + lease, the
 * clock the sweep decides on), not the command's `now`: the row's lastHeartbeatAt is
 * that now(), so the expected expiry is lastHeartbeatAt + leaseMs, to the millisecond.
 */
export function leaseOnDatabaseClock(
  expected: WorkSnapshot,
  row: WorkRow,
  leaseMs: number,
): WorkSnapshot {
  if (!row.lastHeartbeatAt) throw new Error('the lease was written without a heartbeat time');
  return { ...expected, leaseExpiresAt: row.lastHeartbeatAt.getTime() + leaseMs };
}

/** Narrows a transition result for the assertions that follow (fails the property otherwise). */
export function accepted(result: TransitionResult): Extract<TransitionResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected an accepted transition, got ${result.code}`);
  return result;
}
