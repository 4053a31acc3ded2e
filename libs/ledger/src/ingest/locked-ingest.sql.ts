import { completeStepSet } from '../steps/step-completion.sql';
/**
 * The conversation's advisory locks, then the event's dedupe insert, as ONE statement.
 * The locks are taken one by one in the array's order (the ordered subquery feeding
 * count()), all before the aggregate's one row feeds the INSERT. The insert's snapshot
 * predates the locks, which does not matter to it: ON CONFLICT checks the unique index
 * against every committed or in-flight row, not against the snapshot. No row: a
 * duplicate.
 */
export const LOCK_AND_INSERT = `
  WITH locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
    FROM (SELECT k FROM unnest($11::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys
  )
  INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", "correlationKey", actor, raw, body, answer, decision, reason)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'dropped', 'routing' FROM locked
  ON CONFLICT (channel, "externalId") DO NOTHING
  RETURNING id`;

/**
 * A wait answered, as ONE statement: resolve it if, and only if, it is still open (an
 * answer and a timeout racing for it both try; exactly one UPDATE matches), complete the
 * step that opened it, record the decision on the event, and lock its work's row for
 * the transition. Lock order (docs/decisions.md): the work's row first — the wait's
 * UPDATE joins the `work` CTE, so no wait row is locked before the CTE has produced
 * its locked work row (data-modifying CTEs otherwise run in no guaranteed order) —
 * then the wait's, as cancel, signal and the timer take them. Every part hangs off the
 * wait's UPDATE, so nothing is written when the wait was resolved a moment earlier.
 * No row: the wait was not open.
 */
export const RESUME = `
  WITH work AS (
    SELECT k.* FROM "Work" k WHERE k.id = (SELECT "workId" FROM "Wait" WHERE id = $1) FOR UPDATE OF k
  ), wait AS (
    UPDATE "Wait" w SET status = 'satisfied', result = $2, "satisfiedByEventId" = $3, "resolvedAt" = now()
    FROM work WHERE w.id = $1 AND w.status = 'open' AND w."workId" = work.id
    RETURNING w."workId", w."stepSeq"
  ), step AS (
    UPDATE "Step" s SET ${completeStepSet('$4')}
    FROM wait WHERE s."workId" = wait."workId" AND s.seq = wait."stepSeq"
  ), event AS (
    UPDATE "InboundEvent" e SET decision = $5, reason = $6, "workId" = wait."workId", "waitId" = $1
    FROM wait WHERE e.id = $3
  )
  SELECT work.* FROM wait LEFT JOIN work ON work.id = wait."workId"`;
