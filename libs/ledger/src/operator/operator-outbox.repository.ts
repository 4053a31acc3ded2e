import { Injectable } from '@nestjs/common';
import { ErrorCode, WorkgateError } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError, unlessUnavailable } from '../database/database-errors';
import { type OutboxRow } from '../outbox/outbox.repository';
import { WorkRepository } from '../work/work.repository';
import { nextCursorOf } from './keyset-cursor.util';
import { keysetBefore } from './keyset-where.util';
import { type OutboxFilters, type OutboxView, type Page } from './operator.types';

/**
 * Outbound messages for operators: what is pending or failed, and a retry of a failed
 * one. The list is Prisma Client; the retry stays SQL in one transaction because it
 * takes the work's row lock first (the lock order a run keeps) and appends to the
 * timeline under it, which WorkRepository does on a pg client.
 */
@Injectable()
export class OperatorOutboxRepository {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
  ) {}

  /** Newest first, `(createdAt DESC, id DESC)`, keyset-paginated (Prisma Client). */
  async list(filters: OutboxFilters): Promise<Page<OutboxView>> {
    const rows = await unlessUnavailable(() =>
      this.db.prisma.outbox.findMany({
        // Prisma leaves out a filter whose value is undefined.
        where: {
          status: filters.statuses?.length ? { in: filters.statuses } : undefined,
          channel: filters.channel,
          workId: filters.workId,
          ...keysetBefore('createdAt', filters.cursor),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: filters.limit,
      }),
    );
    return {
      items: rows,
      nextCursor: nextCursorOf(rows, filters.limit, (o) => ({ at: o.createdAt, id: o.id })),
    };
  }

  /**
   * A failed row goes back to pending with a fresh attempt budget, due now; the
   * caller enqueues it after the commit (and the reconciler would, if that enqueue is
   * lost). The work's timeline records who asked. Only `failed` rows qualify: a
   * pending one is already on its way and a sent one must not go out twice.
   */
  async retryFailed(id: string, actor: string): Promise<OutboxRow> {
    try {
      return await this.db.transaction(async (client) => {
        // Work row first, then the outbox row: the order a run takes them in (it locks
        // its work, then writes its outbox rows), so the two cannot deadlock. The
        // timeline's next seq is also taken under the work's row lock.
        const { rows: peek } = await client.query<Pick<OutboxRow, 'workId'>>(
          'SELECT "workId" FROM "Outbox" WHERE id = $1',
          [id],
        );
        const workId = peek[0]?.workId;
        if (workId) await this.works.lock(client, workId);
        const { rows } = await client.query<OutboxRow>(
          'SELECT * FROM "Outbox" WHERE id = $1 FOR UPDATE',
          [id],
        );
        const row = rows[0];
        if (!row) throw new WorkgateError(ErrorCode.NotFound, `no outbox message ${id}`);
        if (row.status !== 'failed')
          throw new WorkgateError(
            ErrorCode.InvalidTransition,
            `outbox message ${id} is ${row.status}; only failed messages can be retried`,
            { currentState: row.status },
          );
        const updated = await client.query<OutboxRow>(
          `UPDATE "Outbox" SET status = 'pending', attempts = 0, "nextAttemptAt" = now()
           WHERE id = $1 RETURNING *`,
          [id],
        );
        if (row.workId)
          await this.works.appendEvent(
            client,
            row.workId,
            'message_retry_requested',
            {
              outboxId: id,
              channel: row.channel,
              target: row.target,
              previousAttempts: row.attempts,
              lastError: row.lastError,
            },
            actor,
          );
        return updated.rows[0]!;
      });
    } catch (err) {
      if (err instanceof WorkgateError) throw err;
      translateDatabaseError(err);
    }
  }
}
