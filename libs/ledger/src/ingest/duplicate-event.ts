import { type InboundEventInput, type IngestDecision, type IngestResult } from '@app/core';
import { type Queryable } from '../database/ledger-database';

interface ExistingEventRow {
  id: string;
  decision: IngestDecision;
  workId: string | null;
  waitId: string | null;
  reason: string;
}

/** The answer a repeated delivery gets: the original event's, writing nothing. */
export async function existingEvent(
  db: Queryable,
  input: InboundEventInput,
): Promise<IngestResult> {
  const { rows } = await db.query<ExistingEventRow>(
    'SELECT id, decision, "workId", "waitId", reason FROM "InboundEvent" WHERE channel = $1 AND "externalId" = $2',
    [input.channel, input.externalId],
  );
  const existing = rows[0]!;
  return {
    eventId: existing.id,
    decision: existing.decision,
    workId: existing.workId,
    waitId: existing.waitId,
    reason: existing.reason,
    duplicate: true,
  };
}
