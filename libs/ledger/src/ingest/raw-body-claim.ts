import { createHash } from 'node:crypto';
import { ErrorCode, type InboundEventInput, WorkgateError } from '@app/core';
import { type Queryable } from '../database/ledger-database';

/**
 * Keeps a delivery's exact bytes (InboundRawBody) and refuses a delivery id reused with
 * other bytes, before the event is ingested. The row is claimed with INSERT … ON
 * CONFLICT DO NOTHING, so of two deliveries racing with one id exactly one writes it;
 * the other waits on the primary key and then compares. Same SHA-256: a redelivery,
 * which the ingest's own dedupe answers "duplicate". Other bytes: a DeliveryConflict row
 * records it, nothing of the original changes, and the sender gets 409
 * idempotency_key_reused (a sender reusing a key is a bug the operator should see; a
 * silent "duplicate" would drop its new content).
 *
 * Written before the event, in its own statement: a crash in between leaves a body with
 * no event, and the sender's retry (same bytes) goes on to ingest it.
 */
export async function claimRawBody(
  db: Queryable,
  event: InboundEventInput,
  rawBody: Uint8Array,
  newId: () => string,
): Promise<void> {
  const bytes = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const claimed = await db.query(
    `INSERT INTO "InboundRawBody" (channel, "externalId", sha256, body) VALUES ($1, $2, $3, $4)
     ON CONFLICT (channel, "externalId") DO NOTHING RETURNING 1`,
    [event.channel, event.externalId, sha256, bytes],
  );
  if (claimed.rowCount) return;
  const { rows } = await db.query<{ sha256: string }>(
    'SELECT sha256 FROM "InboundRawBody" WHERE channel = $1 AND "externalId" = $2',
    [event.channel, event.externalId],
  );
  if (rows[0]?.sha256 === sha256) return;
  const conflict = await db.query<{ eventId: string | null }>(
    `WITH c AS (
       INSERT INTO "DeliveryConflict" (id, channel, "externalId", sha256, body) VALUES ($1, $2, $3, $4, $5)
     )
     SELECT (SELECT id FROM "InboundEvent" WHERE channel = $2 AND "externalId" = $3) AS "eventId"`,
    [newId(), event.channel, event.externalId, sha256, bytes],
  );
  const eventId = conflict.rows[0]?.eventId ?? null;
  throw new WorkgateError(
    ErrorCode.IdempotencyKeyReused,
    `The delivery id of ${event.externalId} was used before with a different body; the first body stands.`,
    { externalId: event.externalId, ...(eventId ? { eventId } : {}) },
  );
}
