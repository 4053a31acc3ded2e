import { type PoolClient } from 'pg';

/**
 * A work's inbox is the events routed to it that it has not read yet (DESIGN.md,
 * "Routing"): decisions inbox, collected and interrupted, `consumedAt` null. These are
 * the statements every path that changes what a work has read goes through.
 */
export const INBOX_DECISIONS_SQL = `('inbox', 'collected', 'interrupted')`;

/**
 * The work ended: its unread inbox is marked to be routed again (`rerouteAt`), in the
 * transaction of the terminal transition. The marker is the durable half of the
 * re-route — the job dispatched after commit is a hint, and the reconciler routes
 * whatever is still marked (InboxRerouter).
 */
const MARK_UNREAD = `
  UPDATE "InboundEvent" SET "rerouteAt" = now()
  WHERE "workId" = $1 AND "consumedAt" IS NULL AND "rerouteAt" IS NULL
    AND decision IN ${INBOX_DECISIONS_SQL}`;

export async function markUnreadForReroute(client: PoolClient, workId: string): Promise<number> {
  const { rowCount } = await client.query(MARK_UNREAD, [workId]);
  return rowCount ?? 0;
}

/**
 * MARK_UNREAD as a CTE of a one-statement transition (WorkRepository.planKnown), on
 * the row `upd` wrote. It reads the statement's snapshot, which can miss an event an
 * ingest committed while this statement waited for the work's row lock; that cannot
 * strand it: ingest puts an event in an inbox only holding that lock and appends to the
 * work's timeline under it, so the statement's own timeline insert (`ev`, MAX(seq) + 1
 * from the same snapshot) then fails on the unique (workId, seq) and the caller takes
 * the locked path, where the marking UPDATE runs after the lock and sees the event.
 */
export const MARK_UNREAD_CTE = `rr AS (
  UPDATE "InboundEvent" e SET "rerouteAt" = now() FROM upd
  WHERE e."workId" = upd.id AND e."consumedAt" IS NULL AND e."rerouteAt" IS NULL
    AND e.decision IN ${INBOX_DECISIONS_SQL}
  RETURNING e.id)`;

/**
 * Steps from `fromSeq` on are about to be discarded (rerun, interrupt): every event the
 * discarded `$inbox` reads took — each part of a collected burst too — goes back to
 * the inbox, unread, where the next run reads it again in its original order (seq).
 * Only events still routed to this work: one routed elsewhere meanwhile stays there.
 */
const RETURN_READ = `
  WITH items AS (
    SELECT jsonb_array_elements(CASE WHEN jsonb_typeof(output->'v') = 'array' THEN output->'v' ELSE '[]'::jsonb END) AS item
    FROM "Step" WHERE "workId" = $1 AND seq >= $2 AND name = '$inbox'
  ), ids AS (
    SELECT jsonb_array_elements_text(
      CASE WHEN jsonb_typeof(item->'eventIds') = 'array' THEN item->'eventIds' ELSE jsonb_build_array(item->'eventId') END
    )::uuid AS id FROM items
  )
  UPDATE "InboundEvent" SET "consumedAt" = NULL, "rerouteAt" = NULL
  WHERE "workId" = $1 AND id IN (SELECT id FROM ids)`;

export async function returnReadEvents(
  client: PoolClient,
  workId: string,
  fromSeq: number,
): Promise<number> {
  const { rowCount } = await client.query(RETURN_READ, [workId, fromSeq]);
  return rowCount ?? 0;
}
