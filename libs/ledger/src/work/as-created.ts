import { DEFAULT_RETRY_POLICY, transition, type WorkSnapshot } from '@app/core';
import { type KnownWork } from './work-row';

/**
 * A work as create() writes it, for a claim decided without reading the row: the run
 * job a start enqueues says the work was new (`asCreated`), and a lone run then goes
 * from the job to its claim in one statement instead of a read and a write.
 *
 * The snapshot is transition()'s own `create` result, so it cannot drift from what
 * create() writes. The retry policy is a placeholder: no claim reads or writes it.
 */
const CREATED: WorkSnapshot = (() => {
  const result = transition(null, { type: 'create', retryPolicy: DEFAULT_RETRY_POLICY });
  if (!result.ok) throw new Error(`create rejected: ${result.reason}`);
  return result.next;
})();

const toDate = (v: number | null) => (v === null ? null : new Date(v));

/** `= value` as a SQL literal of a created column's value, or `IS NULL`. */
function is(v: string | number | boolean | null): string {
  if (v === null) return 'IS NULL';
  return typeof v === 'string' ? `= '${v}'` : `= ${String(v)}`;
}

/**
 * The row applyKnown() decides on: every column the decision reads or the claim writes
 * back, as created. Paired with AS_CREATED_GUARD, which makes the write land only on a
 * row that still holds all of them.
 */
export function asCreated(workId: string): KnownWork {
  return {
    id: workId,
    parentId: null,
    state: CREATED.state,
    pausedFrom: CREATED.pausedFrom,
    attempt: CREATED.attempt,
    retryPolicy: CREATED.retryPolicy,
    runSeq: CREATED.runSeq,
    leaseOwner: CREATED.leaseOwner,
    leaseToken: CREATED.leaseToken.toString(),
    leaseExpiresAt: toDate(CREATED.leaseExpiresAt),
    runAfter: toDate(CREATED.runAfter),
    pauseRequested: CREATED.pauseRequested,
    cancelRequested: CREATED.cancelRequested,
    checkpointSeq: CREATED.checkpointSeq,
    version: CREATED.version,
  };
}

/**
 * The claim's condition besides the version (applyKnown's): each column that
 * transition() reads or that the claim copies forward still has its created value, and
 * the work has no Step rows (the steps a claim hands its run, read by the general path,
 * are then known to be none). Every created work has all of this — a work is created
 * at version 0 with no steps, and every transition bumps the version — but the claim
 * does not rely on that: a row that differs in any of them is left alone (`stale`), and
 * the caller takes the general path. The differential test
 * (as-created-claim-differential.int-spec.ts) runs both over any row.
 */
export const AS_CREATED_GUARD = {
  // Named statements are keyed by name: the guard's text needs a name of its own.
  name: 'as-created',
  sql: [
    `state ${is(CREATED.state)}`,
    `"pausedFrom" ${is(CREATED.pausedFrom)}`,
    `attempt ${is(CREATED.attempt)}`,
    `"runSeq" ${is(CREATED.runSeq)}`,
    `"leaseOwner" ${is(CREATED.leaseOwner)}`,
    `"leaseToken" ${is(CREATED.leaseToken.toString())}`,
    `"leaseExpiresAt" ${is(CREATED.leaseExpiresAt)}`,
    `"runAfter" ${is(CREATED.runAfter)}`,
    `"pauseRequested" ${is(CREATED.pauseRequested)}`,
    `"cancelRequested" ${is(CREATED.cancelRequested)}`,
    `"checkpointSeq" ${is(CREATED.checkpointSeq)}`,
    'NOT EXISTS (SELECT 1 FROM "Step" WHERE "workId" = $1)',
  ].join(' AND '),
} as const;
