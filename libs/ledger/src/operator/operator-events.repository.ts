import { Injectable } from '@nestjs/common';
import { LedgerDatabase } from '../database/ledger-database';
import { unlessUnavailable } from '../database/database-errors';
import { nextCursorOf } from './keyset-cursor.util';
import { keysetBefore } from './keyset-where.util';
import { INBOX_SELECT } from './operator-selects';
import { type EventFilters, type InboundEventView, type Page } from './operator.types';

/** Inbound events with the router's decision and reason, newest first (Prisma Client). */
@Injectable()
export class OperatorEventsRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /** Ordered `(receivedAt DESC, id DESC)` (the receivedAt index serves it), keyset-paginated. */
  async list(filters: EventFilters): Promise<Page<InboundEventView>> {
    const rows = await unlessUnavailable(() =>
      this.db.prisma.inboundEvent.findMany({
        // Prisma leaves out a filter whose value is undefined.
        where: {
          channel: filters.channel,
          source: filters.source,
          decision: filters.decisions?.length ? { in: filters.decisions } : undefined,
          workId: filters.workId,
          receivedAt: { gte: filters.from, lt: filters.to },
          ...keysetBefore('receivedAt', filters.cursor),
        },
        select: INBOX_SELECT,
        orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
        take: filters.limit,
      }),
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
    return unlessUnavailable(async () => {
      const event = await this.db.prisma.inboundEvent.findUnique({
        where: { id },
        select: { ...INBOX_SELECT, raw: true },
      });
      if (!event) return null;
      const kept = await this.db.prisma.inboundRawBody.findUnique({
        where: { channel_externalId: { channel: event.channel, externalId: event.externalId } },
        select: { body: true },
      });
      const rawBody = kept ? Buffer.from(kept.body).toString('utf8') : null;
      // raw after the list's fields, as the API has always answered.
      const { raw, ...view } = event;
      return { ...view, raw, rawBody };
    });
  }

  /** The event a channel recorded under this external id (its dedupe key), if any. */
  async findByExternalId(channel: string, externalId: string): Promise<InboundEventView | null> {
    return unlessUnavailable(() =>
      this.db.prisma.inboundEvent.findUnique({
        where: { channel_externalId: { channel, externalId } },
        select: INBOX_SELECT,
      }),
    );
  }
}
