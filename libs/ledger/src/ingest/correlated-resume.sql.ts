import { completeStepSet } from '../steps/step-completion.sql';
/**
 * The live works waiting on a correlation key, whole, with their waits on that key (as
 * JSON): what route() decides on, and the row the transition is decided on, in one
 * read outside any transaction (CorrelatedResume).
 */
export const CORRELATED_WORKS = `
  SELECT k.*, (SELECT json_agg(w) FROM "Wait" w WHERE w."workId" = k.id AND w."correlationKey" = $1) AS "__waits"
  FROM "Work" k
  WHERE k.id IN (SELECT "workId" FROM "Wait" WHERE "correlationKey" = $1) AND k.state = ANY($2::"WorkState"[])`;

/**
 * RESUME_KNOWN's guard: SQL has no RAISE outside PL/pgSQL, so the statement fails by
 * casting this message to boolean (22P02, the message in the error). Not a constant
 * (the count), so the planner cannot fold it into an error at planning time.
 */
export const GUARD_MISSED = 'resume decided on a stale work; wait open:';

/**
 * A reply resuming a wait decided on rows read before it, as ONE statement (after $1 –
 * $26, WorkRepository.planKnown's `upd` and `ev`): the event's locks (as in
 * LOCK_AND_INSERT), the wait resolved if it is still open, the work's transition
 * conditional on that and on the version read, the wait's step completed, and the
 * event inserted with its decision only where the work was updated. The rows are
 * locked in the one lock order (docs/decisions.md): `held` locks the work's row ($1,
 * planKnown's work id) after the advisory locks and before the wait's UPDATE, which
 * joins it (so it cannot lock the wait first), and
 * each UPDATE re-checks its condition on the row as committed when its lock is granted,
 * so the statement writes either all of it or nothing — except when the wait was open
 * and the work had moved on: `__guard` then fails the statement (a cast of its message)
 * and it rolls back. A duplicate delivery (the event's unique index) or a concurrent
 * timeline entry (planKnown) fails it too. Every failure means: take the transaction.
 */
export const RESUME_KNOWN = (ctes: string) => `
  WITH locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
    FROM (SELECT k FROM unnest($27::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys
  ), held AS (
    SELECT k.id FROM "Work" k, locked WHERE k.id = $1 FOR UPDATE OF k
  ), wait AS (
    UPDATE "Wait" w SET status = 'satisfied', result = $28, "satisfiedByEventId" = $29, "resolvedAt" = now()
    FROM held WHERE w.id = $30 AND w.status = 'open' AND w."workId" = held.id
    RETURNING w."workId", w."stepSeq"
  ), ${ctes}, step AS (
    UPDATE "Step" s SET ${completeStepSet('$31')}
    FROM wait JOIN upd ON upd.id = wait."workId" WHERE s."workId" = wait."workId" AND s.seq = wait."stepSeq"
  ), event AS (
    INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", "correlationKey", actor, raw, body, answer, decision, reason, "workId", "waitId")
    SELECT $29, $32, $33, $34, $35, $36, $37, $38, $39, $28, 'resumed', $40, upd.id, $30 FROM upd
  )
  SELECT upd.*, CASE WHEN (SELECT count(*) FROM wait) = (SELECT count(*) FROM upd) THEN true
    ELSE ('${GUARD_MISSED} ' || (SELECT count(*) FROM wait))::boolean END AS "__guard"
  FROM (VALUES (1)) AS one LEFT JOIN upd ON true`;
