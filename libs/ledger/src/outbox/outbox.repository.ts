import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type PgRow } from '../database/pg-row';
import { type Outbox } from '../generated/prisma/client';

export type { OutboxStatus } from '../generated/prisma/enums';

/**
 * An "Outbox" row as raw SQL reads it (schema.prisma's Outbox). `payload` is narrowed to
 * an object: every channel's outbound message is one.
 */
export type OutboxRow = Omit<PgRow<Outbox>, 'payload'> & { payload: Record<string, unknown> };

export interface NewOutbox {
  id: string;
  workId: string | null;
  stepId: string | null;
  channel: string;
  target: string;
  payload: unknown;
  idempotencyKey: string;
}

/** Outbound messages: written in the run's transaction, delivered after commit. */
@Injectable()
export class OutboxRepository {
  /** Inserts once per idempotency key; a replay of the same send finds the existing row. */
  async insert(client: PoolClient, row: NewOutbox): Promise<OutboxRow> {
    const { rows } = await client.query<OutboxRow>(
      `INSERT INTO "Outbox" (id, "workId", "stepId", channel, target, payload, "idempotencyKey")
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT ("idempotencyKey") DO UPDATE SET "idempotencyKey" = EXCLUDED."idempotencyKey"
       RETURNING *`,
      [
        row.id,
        row.workId,
        row.stepId,
        row.channel,
        row.target,
        JSON.stringify(row.payload),
        row.idempotencyKey,
      ],
    );
    return rows[0]!;
  }

  async find(client: PoolClient, id: string): Promise<OutboxRow | null> {
    const { rows } = await client.query<OutboxRow>('SELECT * FROM "Outbox" WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  /**
   * Takes a pending row for one delivery attempt. The row's nextAttemptAt moves past
   * the attempt's deadline, so neither the reconciler nor a duplicate job can start a
   * second delivery while this one runs; if this worker dies, the row is due again
   * after the deadline and is delivered again with the same idempotency key.
   */
  async claim(
    client: PoolClient,
    id: string,
    now: Date,
    deadline: Date,
  ): Promise<OutboxRow | null> {
    const { rows } = await client.query<OutboxRow>(
      `UPDATE "Outbox" SET attempts = attempts + 1, "nextAttemptAt" = $3
       WHERE id = $1 AND status = 'pending' AND "nextAttemptAt" <= $2
       RETURNING *`,
      [id, now, deadline],
    );
    return rows[0] ?? null;
  }

  /*
   * The outcome of one attempt lands only while that attempt is the row's latest and the
   * row is pending: an attempt that outlived its deadline (a slow provider) while the
   * next one took the row must not overwrite the newer attempt's state — its late
   * success would hide the newer one's failure, its late failure would mark a delivered
   * message failed, and its reschedule would move the newer attempt's deadline. Each
   * returns whether it applied.
   */

  async markSent(
    client: PoolClient,
    id: string,
    attempt: number,
    providerMessageId: string | null,
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE "Outbox" SET status = 'sent', "sentAt" = now(), "providerMessageId" = $3, "lastError" = NULL
       WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [id, attempt, providerMessageId],
    );
    return rowCount === 1;
  }

  async reschedule(
    client: PoolClient,
    id: string,
    attempt: number,
    at: Date,
    error: string,
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE "Outbox" SET "nextAttemptAt" = $3, "lastError" = $4
       WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [id, attempt, at, error],
    );
    return rowCount === 1;
  }

  async markFailed(
    client: PoolClient,
    id: string,
    attempt: number,
    error: string,
  ): Promise<boolean> {
    const { rowCount } = await client.query(
      `UPDATE "Outbox" SET status = 'failed', "lastError" = $3
       WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
      [id, attempt, error],
    );
    return rowCount === 1;
  }

  /** Pending rows whose next attempt is due (for the reconciler). */
  async due(client: PoolClient, now: Date, limit: number): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>(
      `SELECT * FROM "Outbox" WHERE status = 'pending' AND "nextAttemptAt" <= $1 ORDER BY "nextAttemptAt" LIMIT $2`,
      [now, limit],
    );
    return rows;
  }

  async pendingAfter(
    client: PoolClient,
    limit: number,
    afterId: string | null,
  ): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>(
      `SELECT * FROM "Outbox" WHERE status = 'pending' AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $1`,
      [limit, afterId],
    );
    return rows;
  }
}
