import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { stepIdempotencyKey } from '@app/core';
import { type Queryable } from '../database/ledger-database';
import { type PgRow } from '../database/pg-row';
import { type Step, type StepStatus, type StepType } from '../generated/prisma/client';
import { type WorkRow } from '../work/work-row';
import { completeStepSet, type StepCheckpoint } from './step-completion.sql';

export type { StepStatus, StepType } from '../generated/prisma/enums';

/** A "Step" row as raw SQL reads it: schema.prisma's Step as is (it has no int8 or numeric). */
export type StepRow = PgRow<Step>;

export interface NewStep {
  id: string;
  workId: string;
  seq: number;
  name: string;
  type: StepType;
  status: StepStatus;
  input?: unknown;
  output?: unknown;
  workerId: string | null;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

/** Step rows: the record a replay reads back. Callers hold the work's lease (fenced). */
@Injectable()
export class StepRepository {
  /**
   * A work's row and its steps in one statement (a run's first read): the steps come
   * back as JSON, so their timestamps are turned back into Dates here.
   */
  async withWork(
    client: Queryable,
    workId: string,
  ): Promise<{ work: WorkRow | null; steps: StepRow[] }> {
    const { rows } = await client.query<WorkRow & { __steps: Array<Record<string, unknown>> }>({
      name: 'step-list-with-work',
      text: `SELECT w.*, (SELECT COALESCE(json_agg(s ORDER BY s.seq), '[]'::json) FROM "Step" s WHERE s."workId" = w.id) AS "__steps"
             FROM "Work" w WHERE w.id = $1`,
      values: [workId],
    });
    const row = rows[0];
    if (!row) return { work: null, steps: [] };
    const { __steps: steps, ...work } = row;
    const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
    return {
      work,
      steps: steps.map(
        (s) =>
          ({
            ...s,
            startedAt: date(s.startedAt)!,
            heartbeatAt: date(s.heartbeatAt),
            finishedAt: date(s.finishedAt),
          }) as StepRow,
      ),
    };
  }

  async list(client: Queryable, workId: string): Promise<StepRow[]> {
    const { rows } = await client.query<StepRow>({
      name: 'step-list',
      text: 'SELECT * FROM "Step" WHERE "workId" = $1 ORDER BY seq',
      values: [workId],
    });
    return rows;
  }

  async insert(client: PoolClient, step: NewStep): Promise<StepRow> {
    const { rows } = await client.query<StepRow>(
      `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, input, output, attempt, "workerId", "startedAt", "finishedAt")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, now(), CASE WHEN $7::"StepStatus" = 'running' THEN NULL ELSE now() END)
       RETURNING *`,
      [
        step.id,
        step.workId,
        step.seq,
        step.name,
        step.type,
        stepIdempotencyKey(step.workId, step.seq, step.id),
        step.status,
        json(step.input),
        json(step.output),
        step.workerId,
      ],
    );
    return rows[0]!;
  }

  /**
   * A `batched` step's row, written whole at its checkpoint (the locked path's twin of
   * stepCheckpointWrites' `fresh`): completed, or failed with `error`.
   */
  async insertCompleted(
    client: PoolClient,
    workId: string,
    workerId: string,
    step: StepCheckpoint & { fresh: NonNullable<StepCheckpoint['fresh']> },
    error?: unknown,
  ): Promise<void> {
    await client.query(
      `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, output, error, attempt, "workerId", "startedAt", "finishedAt")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13)`,
      [
        step.stepId,
        workId,
        step.seq,
        step.name,
        step.fresh.type,
        step.fresh.idempotencyKey,
        error === undefined ? 'completed' : 'failed',
        error === undefined ? step.output : null,
        json(error),
        step.fresh.attempt,
        workerId,
        step.fresh.startedAt,
        step.fresh.finishedAt,
      ],
    );
  }

  /** A step that crashed or failed runs again: same row, same idempotency key, attempt + 1. */
  async restart(client: PoolClient, stepId: string, workerId: string): Promise<StepRow> {
    const { rows } = await client.query<StepRow>(
      `UPDATE "Step" SET status = 'running', attempt = attempt + 1, "workerId" = $2, "startedAt" = now(),
         "finishedAt" = NULL, error = NULL
       WHERE id = $1 RETURNING *`,
      [stepId, workerId],
    );
    return rows[0]!;
  }

  async complete(client: PoolClient, stepId: string, output: unknown): Promise<void> {
    await client.query(`UPDATE "Step" SET ${completeStepSet('$2')} WHERE id = $1`, [
      stepId,
      json(output),
    ]);
  }

  /** complete() with the output already as the JSON text jsonb takes (checked by the caller). */
  async completeJson(client: PoolClient, stepId: string, output: string): Promise<void> {
    await client.query(`UPDATE "Step" SET ${completeStepSet('$2::jsonb')} WHERE id = $1`, [
      stepId,
      output,
    ]);
  }

  async fail(client: PoolClient, stepId: string, error: unknown): Promise<void> {
    await client.query(
      `UPDATE "Step" SET status = 'failed', error = $2, "finishedAt" = now() WHERE id = $1`,
      [stepId, json(error)],
    );
  }
}
