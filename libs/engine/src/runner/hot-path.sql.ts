import { stepIdempotencyKey } from '@app/core';
import {
  stepCheckpointInput,
  stepCheckpointValues,
  stepCheckpointWrites,
  type StepType,
} from '@app/ledger';
import { type PendingCheckpoint, type RunHandle } from './run-resources';

/**
 * The SQL of the run's hot path: the statements StatementBatcher shares between runs
 * (step starts and checkpoints, one statement and one commit per batch, each row
 * fenced on its own run's token), and the arrays they take. The checkpoint CTE
 * restates transition('step_completed') for the case where neither a pause nor a
 * cancel is pending; anything else takes the locked path (FencedTransactions).
 */

/** A step a batched statement starts: the run it belongs to, and the new row's fields. */
export interface NewStepItem {
  run: RunHandle;
  id: string;
  seq: number;
  name: string;
  type: StepType;
}

/** $1–$8 of the batched statements that start steps: one array per column (unnest). */
const NEW_STEP_ARRAYS =
  '$1::uuid[], $2::bigint[], $3::uuid[], $4::int[], $5::text[], $6::"StepType"[], $7::text[], $8::text[]';
const NEW_STEP_COLUMNS = '"workId", token, id, seq, name, type, "idempotencyKey", "workerId"';

export function newStepValues(items: NewStepItem[]): unknown[][] {
  return [
    items.map((i) => i.run.workId),
    items.map((i) => i.run.token.toString()),
    items.map((i) => i.id),
    items.map((i) => i.seq),
    items.map((i) => i.name),
    items.map((i) => i.type),
    items.map((i) => stepIdempotencyKey(i.run.workId, i.seq, i.id)),
    items.map((i) => i.run.workerId),
  ];
}

/** The checkpoints a batched statement writes, one row per completed step (stepCheckpointInput). */
export function doneValues(
  items: Array<{ run: RunHandle; steps: PendingCheckpoint[] }>,
): unknown[][] {
  return stepCheckpointValues(
    items.flatMap((i) =>
      i.steps.map((step) => ({
        workId: i.run.workId,
        token: i.run.token,
        workerId: i.run.workerId,
        step,
      })),
    ),
  );
}

/**
 * Checkpoints on the hot path, as CTEs over an `input` of ("workId", token, "doneSeq",
 * "doneId", output), several rows per run when its steps ran side by side: per run,
 * what ONE transition('step_completed') to its highest seq does when neither a pause
 * nor a cancel is pending (checkpointSeq forward, version + 1), fenced on the run's
 * token; and every step's output (completed on its row, or a batched step's row
 * inserted whole) only where its own run's update was made (the token too: a zombie
 * run of the same work in the same batch writes nothing). `w` returns the works updated.
 */
const CHECKPOINT_CTES = `mark AS (
         SELECT "workId", token, max("doneSeq") AS "doneSeq" FROM input GROUP BY "workId", token),
       w AS (
         UPDATE "Work" SET "checkpointSeq" = GREATEST("checkpointSeq", mark."doneSeq"), version = version + 1, "updatedAt" = now()
         FROM mark
         WHERE "Work".id = mark."workId" AND "Work".state = 'RUNNING' AND "Work"."leaseToken" = mark.token
           AND NOT "Work"."pauseRequested" AND NOT "Work"."cancelRequested"
         RETURNING "Work".id, "Work".version, "Work"."checkpointSeq", "Work"."leaseToken"),
       ${stepCheckpointWrites('w')}`;

/**
 * Starting steps ($1–$8, NewStepItem). The insert selects the work FOR SHARE, so a
 * concurrent claim (which changes the token) waits for it or, if it committed first,
 * makes this run's row insert nothing — the same fencing as the locked transaction,
 * in one round trip.
 */
export const STEP_START_BATCH = {
  name: 'step-start-batch',
  text: `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
         SELECT i.id, w.id, i.seq, i.name, i.type, i."idempotencyKey", 'running', 1, i."workerId", now()
         FROM unnest(${NEW_STEP_ARRAYS}) AS i(${NEW_STEP_COLUMNS})
         JOIN "Work" w ON w.id = i."workId" AND w.state = 'RUNNING' AND w."leaseToken" = i.token
         FOR SHARE OF w
         RETURNING *`,
} as const;

/**
 * Checkpoints ($1–$12, doneValues) and nothing else: `w`'s rows, one per work updated.
 * Without a timeline entry: the Step row is the record of a completed step.
 */
export const STEP_CHECKPOINT_BATCH = {
  name: 'step-checkpoint-batch',
  text: `WITH ${stepCheckpointInput(1)},
       ${CHECKPOINT_CTES}
       SELECT * FROM w`,
} as const;

/**
 * Checkpoints ($9–$20) and the next steps' starts ($1–$8) together: the start's insert
 * only for the works the checkpoint updated (the UPDATE holds their row locks, so no
 * claim can come between). Each started step with its work's new version and
 * checkpointSeq.
 */
export const STEP_CHECKPOINT_START_BATCH = {
  name: 'step-checkpoint-start-batch',
  text: `WITH start AS (
         SELECT * FROM unnest(${NEW_STEP_ARRAYS}) AS s(${NEW_STEP_COLUMNS})),
       ${stepCheckpointInput(9)},
       ${CHECKPOINT_CTES},
       started AS (
         INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
         SELECT start.id, w.id, start.seq, start.name, start.type, start."idempotencyKey", 'running', 1, start."workerId", now()
         FROM start JOIN w ON w.id = start."workId" AND w."leaseToken" = start.token
         RETURNING *)
       SELECT started.*, w.version AS "workVersion", w."checkpointSeq" AS "workCheckpointSeq"
       FROM started JOIN w ON w.id = started."workId"`,
} as const;
