import { Injectable } from '@nestjs/common';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { decodeCursor, nextCursorOf } from './keyset-cursor.util';
import { type EventFilters, type InboundEventView, type Page } from './operator.types';
import { INBOX_COLUMNS } from './operator-works.repository';
import { SqlWhere } from './sql-where.util';

/** Inbound events with the router's decision and reason, newest first. */
@Injectable()
export class OperatorEventsRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /** Ordered `(receivedAt DESC, id DESC)` (the receivedAt index serves it), keyset-paginated. */
  async list(filters: EventFilters): Promise<Page<InboundEventView>> {
    const where = new SqlWhere();
    if (filters.channel) where.and(`channel = ${where.param(filters.channel)}`);
    if (filters.source) where.and(`source = ${where.param(filters.source)}`);
    if (filters.decisions?.length)
      where.and(`decision::text = ANY(${where.param(filters.decisions)}::text[])`);
    if (filters.workId) where.and(`"workId" = ${where.param(filters.workId)}::uuid`);
    if (filters.from) where.and(`"receivedAt" >= ${where.param(filters.from)}`);
    if (filters.to) where.and(`"receivedAt" < ${where.param(filters.to)}`);
    if (filters.cursor) {
      const after = decodeCursor(filters.cursor);
      where.and(
        `("receivedAt", id) < (${where.param(after.at)}::timestamptz, ${where.param(after.id)}::uuid)`,
      );
    }
    const rows = await this.query<InboundEventView>(
      `SELECT ${INBOX_COLUMNS} FROM "InboundEvent" ${where.toSql()}
       ORDER BY "receivedAt" DESC, id DESC LIMIT ${where.param(filters.limit)}`,
      where.params,
    );
    return {
      items: rows,
      nextCursor: nextCursorOf(rows, filters.limit, (e) => ({ at: e.receivedAt, id: e.id })),
    };
  }

  /**
   * One event, with the raw payload as the channel delivered it: `raw` parsed, and
   * `rawBody` the exact bytes where the channel kept them (signed webhooks; the parsed
   * JSON cannot hold numbers such as 1e400 exactly), else null.
   */
  async find(
    id: string,
  ): Promise<(InboundEventView & { raw: unknown; rawBody: string | null }) | null> {
    const rows = await this.query<InboundEventView & { raw: unknown; rawBody: string | null }>(
      `SELECT ${INBOX_COLUMNS}, raw,
         (SELECT convert_from(r.body, 'UTF8') FROM "InboundRawBody" r
           WHERE r.channel = "InboundEvent".channel AND r."externalId" = "InboundEvent"."externalId") AS "rawBody"
       FROM "InboundEvent" WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** The event a channel recorded under this external id (its dedupe key), if any. */
  async findByExternalId(channel: string, externalId: string): Promise<InboundEventView | null> {
    const rows = await this.query<InboundEventView>(
      `SELECT ${INBOX_COLUMNS} FROM "InboundEvent" WHERE channel = $1 AND "externalId" = $2`,
      [channel, externalId],
    );
    return rows[0] ?? null;
  }

  private async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const { rows } = await this.db.pool.query(sql, params);
      return rows as T[];
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
