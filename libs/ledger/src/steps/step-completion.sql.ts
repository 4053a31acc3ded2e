import { type StepType } from '../generated/prisma/enums';

/**
 * The SET list of every statement that completes a Step: the status, the output
 * (`output`: a parameter or a column holding the stored JSON, `{ v: value }`) and the
 * finish time on PostgreSQL's clock. The statements differ only in how they find the
 * row — by id, by the wait's (workId, stepSeq), or joined to the work row their own
 * transition just updated, which is what fences them — so that stays with each caller;
 * what a completed step looks like is said once, here (docs/decisions.md, "SQL that
 * restates transition()").
 */
export function completeStepSet(output: string): string {
  return `status = 'completed', output = ${output}, "finishedAt" = now()`;
}

/**
 * A completed step whose checkpoint a statement carries. Its row exists (recorded as
 * running before its body ran: `step` durability) unless `fresh` is set: a `batched`
 * step has no row until its checkpoint, which inserts it whole, completed.
 */
export interface StepCheckpoint {
  stepId: string;
  seq: number;
  name: string;
  /** The step's output, wrapped (wrapStepOutput), as the JSON text jsonb takes (toJsonbText). */
  output: string;
  fresh?: {
    type: StepType;
    idempotencyKey: string;
    /** Its inline attempts (StepOptions.retry) in this run, the last one included. */
    attempt: number;
    /** When the body started and ended, on the worker's clock (no row existed to stamp). */
    startedAt: Date;
    finishedAt: Date;
  };
}

/**
 * The unnest of the checkpoints a statement writes ($from to $from + 11, see
 * stepCheckpointValues), one row per completed step, as a CTE named `input`.
 */
export function stepCheckpointInput(from: number): string {
  const p = (i: number, type: string) => `$${from + i}::${type}[]`;
  return `input AS (
         SELECT * FROM unnest(${p(0, 'uuid')}, ${p(1, 'bigint')}, ${p(2, 'int')}, ${p(3, 'uuid')}, ${p(4, 'jsonb')}, ${p(5, 'text')}, ${p(6, '"StepType"')}, ${p(7, 'text')}, ${p(8, 'timestamptz')}, ${p(9, 'timestamptz')}, ${p(10, 'text')}, ${p(11, 'int')})
           AS t("workId", token, "doneSeq", "doneId", output, name, type, "idempotencyKey", "startedAt", "finishedAt", "workerId", attempt))`;
}

/** The values of stepCheckpointInput: 12 arrays, one per column. */
export function stepCheckpointValues(
  rows: Array<{ workId: string; token: bigint; workerId: string; step: StepCheckpoint }>,
): unknown[][] {
  return [
    rows.map((r) => r.workId),
    rows.map((r) => r.token.toString()),
    rows.map((r) => r.step.seq),
    rows.map((r) => r.step.stepId),
    rows.map((r) => r.step.output),
    rows.map((r) => r.step.name),
    rows.map((r) => r.step.fresh?.type ?? null),
    rows.map((r) => r.step.fresh?.idempotencyKey ?? null),
    rows.map((r) => r.step.fresh?.startedAt ?? null),
    rows.map((r) => r.step.fresh?.finishedAt ?? null),
    rows.map((r) => r.workerId),
    rows.map((r) => r.step.fresh?.attempt ?? null),
  ];
}

/**
 * The step writes of a checkpoint, as two CTEs over `input`, each only where `fence`
 * (a CTE of the caller's: the works its own transition updated, with `id` and
 * "leaseToken") holds the step's work with its token: `done` completes the steps that
 * have a row, `fresh` inserts the batched ones whole. (Both read the snapshot the
 * statement started with, so neither sees the other's rows.)
 */
export function stepCheckpointWrites(fence: string): string {
  return `done AS (
         UPDATE "Step" SET ${completeStepSet('input.output')}
         FROM input JOIN ${fence} ON ${fence}.id = input."workId" AND ${fence}."leaseToken" = input.token
         WHERE "Step".id = input."doneId" AND "Step"."workId" = input."workId" AND input."idempotencyKey" IS NULL),
       fresh AS (
         INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, output, attempt, "workerId", "startedAt", "finishedAt")
         SELECT input."doneId", input."workId", input."doneSeq", input.name, input.type, input."idempotencyKey", 'completed', input.output, input.attempt, input."workerId", input."startedAt", input."finishedAt"
         FROM input JOIN ${fence} ON ${fence}.id = input."workId" AND ${fence}."leaseToken" = input.token
         WHERE input."idempotencyKey" IS NOT NULL)`;
}

/**
 * `list`'s checkpoints, written by the run holding `token` of work `workId`, as CTEs to
 * append to a statement whose parameters end at `after` and whose CTE `fence` is the
 * work's own update: the CTE text and the parameters to append.
 */
export function stepCheckpointCtes(
  after: number,
  fence: string,
  run: { workId: string; token: bigint; workerId: string; list: StepCheckpoint[] },
): { text: string; values: unknown[][] } {
  return {
    text: `${stepCheckpointInput(after + 1)},
         ${stepCheckpointWrites(fence)}`,
    values: stepCheckpointValues(
      run.list.map((step) => ({
        workId: run.workId,
        token: run.token,
        workerId: run.workerId,
        step,
      })),
    ),
  };
}
