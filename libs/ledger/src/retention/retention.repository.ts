import { Injectable } from '@nestjs/common';
import { LedgerDatabase } from '../database/ledger-database';

const TERMINAL = `('COMPLETED', 'FAILED', 'CANCELLED')`;

/**
 * Finished works past their age, oldest first, that nothing still needs: no delivery
 * pending in their outbox, no live child (it reports to its parent), no unread inbox
 * event waiting to be routed again. Locked SKIP LOCKED: a row someone is touching (an
 * operator's retry) is left for a later batch, never waited on.
 */
const DOOMED_WORKS = `
  SELECT w.id FROM "Work" w
   WHERE w.state IN ${TERMINAL} AND w."updatedAt" < $1
     AND NOT EXISTS (SELECT 1 FROM "Outbox" o WHERE o."workId" = w.id AND o.status = 'pending')
     AND NOT EXISTS (SELECT 1 FROM "Work" c WHERE c."parentId" = w.id AND c.state NOT IN ${TERMINAL})
     AND NOT EXISTS (SELECT 1 FROM "InboundEvent" e WHERE e."workId" = w.id AND e."rerouteAt" IS NOT NULL)
   ORDER BY w."updatedAt"
   LIMIT $2
   FOR UPDATE OF w SKIP LOCKED`;

/**
 * Inbound events past their channel's dedupe window that no work holds (a deleted
 * work's events lost their workId with it), with the exact bytes and key-reuse records
 * kept beside them. `$1`/`$2`: channels with their own cutoff; `$3`: everyone else's;
 * `$4`: the latest cutoff, so the scan is a range on the receivedAt index.
 */
const PURGE_INBOUND = `
  WITH windows AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS t(channel, cutoff)),
  doomed AS (
    SELECT e.id FROM "InboundEvent" e LEFT JOIN windows w ON w.channel = e.channel
     WHERE e."receivedAt" < $4 AND e."receivedAt" < COALESCE(w.cutoff, $3)
       AND e."workId" IS NULL AND e."rerouteAt" IS NULL
     ORDER BY e."receivedAt"
     LIMIT $5
     FOR UPDATE OF e SKIP LOCKED),
  gone AS (
    DELETE FROM "InboundEvent" e USING doomed d WHERE e.id = d.id
    RETURNING e.channel, e."externalId"),
  bodies AS (
    DELETE FROM "InboundRawBody" b USING gone g
     WHERE b.channel = g.channel AND b."externalId" = g."externalId"),
  conflicts AS (
    DELETE FROM "DeliveryConflict" c USING gone g
     WHERE c.channel = g.channel AND c."externalId" = g."externalId")
  SELECT count(*)::int AS n FROM gone`;

/** Sent, failed or cancelled outbox rows of no work (gateway replies, orphans) past the age. */
const PURGE_DETACHED_OUTBOX = `
  WITH doomed AS (
    SELECT id FROM "Outbox"
     WHERE status IN ('sent', 'failed', 'cancelled') AND "nextAttemptAt" < $1 AND "workId" IS NULL
     ORDER BY "nextAttemptAt"
     LIMIT $2
     FOR UPDATE SKIP LOCKED)
  DELETE FROM "Outbox" o USING doomed d WHERE o.id = d.id`;

export interface DedupeCutoffs {
  /** Channel name → events received before this instant may go. */
  byChannel: Record<string, Date>;
  /** Channels not named above. */
  other: Date;
}

/**
 * The deletes of retention (docs/retention.md). Every method is ONE batch in ONE short
 * transaction and returns how many rows it removed; the caller loops while a batch comes
 * back full. No long lock: rows are picked SKIP LOCKED and the statement's own locks are
 * those of `limit` rows and their children, held for milliseconds.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /**
   * Deletes up to `limit` finished works last changed before `before`. Their steps,
   * waits, timeline and model calls go by ON DELETE CASCADE; their outbox rows are
   * deleted here (that foreign key only nulls); their inbound events and children keep
   * living with a null reference (events stay for dedupe until their own window).
   */
  async purgeWorks(before: Date, limit: number): Promise<number> {
    return this.db.transaction(async (client) => {
      const { rows } = await client.query<{ id: string }>(DOOMED_WORKS, [before, limit]);
      if (!rows.length) return 0;
      const ids = rows.map((r) => r.id);
      await client.query(`DELETE FROM "Outbox" WHERE "workId" = ANY($1::uuid[])`, [ids]);
      const { rowCount } = await client.query(`DELETE FROM "Work" WHERE id = ANY($1::uuid[])`, [
        ids,
      ]);
      return rowCount ?? 0;
    });
  }

  /** Deletes up to `limit` inbound events (and their raw bodies) past their dedupe window. */
  async purgeInbound(cutoffs: DedupeCutoffs, limit: number): Promise<number> {
    const channels = Object.keys(cutoffs.byChannel);
    const instants = channels.map((c) => cutoffs.byChannel[c]!);
    const latest = new Date(Math.max(cutoffs.other.getTime(), ...instants.map((d) => d.getTime())));
    const { rows } = await this.db.pool.query<{ n: number }>(PURGE_INBOUND, [
      channels,
      instants,
      cutoffs.other,
      latest,
      limit,
    ]);
    return rows[0]?.n ?? 0;
  }

  /** Deletes up to `limit` settled outbox rows of no work, older than `before`. */
  async purgeDetachedOutbox(before: Date, limit: number): Promise<number> {
    const { rowCount } = await this.db.pool.query(PURGE_DETACHED_OUTBOX, [before, limit]);
    return rowCount ?? 0;
  }
}
