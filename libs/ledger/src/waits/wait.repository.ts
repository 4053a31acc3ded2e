import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type Queryable } from '../database/ledger-database';
import { type PgRow } from '../database/pg-row';
import { type Wait } from '../generated/prisma/client';
import { completeStepSet } from '../steps/step-completion.sql';
import { type EscalationRung, type WaitStatus, type WaitType, wrapStepOutput } from '@app/core';

/**
 * A "Wait" row as raw SQL reads it (schema.prisma's Wait). Two Json columns are narrowed
 * to what the engine writes into them: `matchKeys` an object of keys, `escalation` the
 * ladder core defines.
 */
export type WaitRow = Omit<PgRow<Wait>, 'matchKeys' | 'escalation'> & {
  matchKeys: Record<string, unknown> | null;
  escalation: EscalationRung[] | null;
};

export interface NewWait {
  id: string;
  workId: string;
  stepSeq: number;
  type: WaitType;
  status?: WaitStatus;
  conversationKey?: string | null;
  correlationKey?: string | null;
  matchKeys?: Record<string, unknown> | null;
  expects?: unknown;
  responders?: unknown;
  resumeChannel?: string | null;
  promptRef?: string | null;
  timeoutAt?: Date | null;
  onTimeout?: 'fail' | 'resume' | 'escalate';
  escalation?: EscalationRung[] | null;
  defaultValue?: unknown;
  result?: unknown;
  satisfiedByEventId?: string | null;
  /**
   * When the wait opened, if the caller measured it: an escalation ladder is relative to
   * this instant, so the first rung's due time and the wait's recorded opening must come
   * from the same clock reading. Defaults to the transaction's now().
   */
  createdAt?: Date;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

@Injectable()
export class WaitRepository {
  async insert(client: PoolClient, wait: NewWait): Promise<WaitRow> {
    const status = wait.status ?? 'open';
    const { rows } = await client.query<WaitRow>(
      `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "conversationKey", "correlationKey", "matchKeys", expects,
         responders, "resumeChannel", "promptRef", "timeoutAt", "onTimeout", escalation, "defaultValue", result,
         "satisfiedByEventId", "resolvedAt", "createdAt")
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, CASE WHEN $5::"WaitStatus" = 'open' THEN NULL ELSE now() END,
         COALESCE($19::timestamptz, now()))
       RETURNING *`,
      [
        wait.id,
        wait.workId,
        wait.stepSeq,
        wait.type,
        status,
        wait.conversationKey ?? null,
        wait.correlationKey ?? null,
        json(wait.matchKeys),
        json(wait.expects),
        json(wait.responders),
        wait.resumeChannel ?? null,
        wait.promptRef ?? null,
        wait.timeoutAt ?? null,
        wait.onTimeout ?? 'fail',
        json(wait.escalation),
        json(wait.defaultValue),
        json(wait.result),
        wait.satisfiedByEventId ?? null,
        wait.createdAt ?? null,
      ],
    );
    return rows[0]!;
  }

  async find(client: PoolClient, waitId: string, forUpdate = false): Promise<WaitRow | null> {
    const { rows } = await client.query<WaitRow>(
      `SELECT * FROM "Wait" WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [waitId],
    );
    return rows[0] ?? null;
  }

  async openForWork(client: PoolClient, workId: string): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>(
      `SELECT * FROM "Wait" WHERE "workId" = $1 AND status = 'open' ORDER BY "createdAt"`,
      [workId],
    );
    return rows;
  }

  /**
   * Resolves a wait if, and only if, it is still open. An answer and a timeout racing
   * for the same wait both run this; exactly one UPDATE matches.
   */
  async resolve(
    client: PoolClient,
    waitId: string,
    status: Exclude<WaitStatus, 'open'>,
    result: unknown,
    eventId: string | null = null,
    stepError?: unknown,
  ): Promise<boolean> {
    const res = await client.query<{ workId: string; stepSeq: number }>(
      `UPDATE "Wait" SET status = $2::"WaitStatus", result = $3, "satisfiedByEventId" = $4, "resolvedAt" = now()
       WHERE id = $1 AND status = 'open'
       RETURNING "workId", "stepSeq"`,
      [waitId, status, json(result), eventId],
    );
    const wait = res.rows[0];
    if (!wait) return false;
    // The step that opened the wait records its outcome in the same transaction, so a
    // replay reads one place: the step (output wrapped as { v } like every step's).
    if (stepError !== undefined) {
      await client.query(
        `UPDATE "Step" SET status = 'failed', error = $3, "finishedAt" = now() WHERE "workId" = $1 AND seq = $2`,
        [wait.workId, wait.stepSeq, json(stepError)],
      );
    } else if (status !== 'cancelled') {
      await client.query(
        `UPDATE "Step" SET ${completeStepSet('$3')} WHERE "workId" = $1 AND seq = $2`,
        [wait.workId, wait.stepSeq, JSON.stringify(wrapStepOutput(result))],
      );
    }
    return true;
  }

  /** A wait step that runs again (operator retry after a timeout, rerun) gets a fresh wait. */
  async remove(client: PoolClient, workId: string, stepSeq: number): Promise<void> {
    await client.query('DELETE FROM "Wait" WHERE "workId" = $1 AND "stepSeq" = $2', [
      workId,
      stepSeq,
    ]);
  }

  /** Moves the escalation ladder on: the next rung and when it fires. */
  async advanceRung(
    client: PoolClient,
    waitId: string,
    rung: number,
    nextAt: Date | null,
  ): Promise<void> {
    await client.query('UPDATE "Wait" SET "escalationRung" = $2, "timeoutAt" = $3 WHERE id = $1', [
      waitId,
      rung,
      nextAt,
    ]);
  }

  /**
   * Open waits of WAITING works whose next timer is due (for the reconciler), oldest
   * first, after `after` (keyset paging on timeoutAt, id). A PAUSED work's timers do not
   * fire until it resumes (resume fires them), so they are left out: a page full of
   * them would otherwise hide every due timer behind it.
   */
  async due(
    client: Queryable,
    now: Date,
    limit: number,
    after: { timeoutAt: Date; id: string } | null = null,
  ): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>(
      `SELECT w.* FROM "Wait" w JOIN "Work" k ON k.id = w."workId" AND k.state = 'WAITING'
       WHERE w.status = 'open' AND w."timeoutAt" <= $1
         AND ($3::timestamptz IS NULL OR (w."timeoutAt", w.id) > ($3::timestamptz, $4::uuid))
       ORDER BY w."timeoutAt", w.id LIMIT $2`,
      [now, limit, after?.timeoutAt ?? null, after?.id ?? null],
    );
    return rows;
  }

  /**
   * The timers of WAITING works that fall due by `before`, soonest first, as few columns
   * as the timer wheel needs (it reads them again every scan, under the same index as
   * `due`). Past-due ones are included: the wheel fires them at once.
   */
  async timersDueBy(
    client: Queryable,
    before: Date,
    limit: number,
  ): Promise<Array<{ id: string; escalationRung: number; timeoutAt: Date }>> {
    const { rows } = await client.query<{ id: string; escalationRung: number; timeoutAt: Date }>(
      `SELECT w.id, w."escalationRung", w."timeoutAt" FROM "Wait" w
       JOIN "Work" k ON k.id = w."workId" AND k.state = 'WAITING'
       WHERE w.status = 'open' AND w."timeoutAt" <= $1
       ORDER BY w."timeoutAt" LIMIT $2`,
      [before, limit],
    );
    return rows;
  }

  /** Open waits with a future timer (to re-arm their delayed jobs after Redis lost them). */
  async scheduled(
    client: PoolClient,
    after: Date,
    limit: number,
    afterId: string | null,
  ): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>(
      `SELECT * FROM "Wait" WHERE status = 'open' AND "timeoutAt" > $1 AND ($3::uuid IS NULL OR id > $3::uuid)
       ORDER BY id LIMIT $2`,
      [after, limit, afterId],
    );
    return rows;
  }
}
