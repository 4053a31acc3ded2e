import { type RetryPolicy, type WorkSnapshot } from '@app/core';
import { type PgRow } from '../database/pg-row';
import { type Work } from '../generated/prisma/client';

/** Where replies to a chat work's origin go: the Json `replyAddress`, as ingest writes it. */
export interface ReplyAddress {
  channel: string;
  target: string;
  thread?: string;
}

/**
 * A "Work" row as raw SQL reads it (schema.prisma's Work; leaseToken, an int8, as text).
 * Two Json columns are narrowed to what the ledger writes into them: `replyAddress` by
 * ingest, `retryPolicy` from the workflow's definition (core's RetryPolicy).
 */
export type WorkRow = Omit<PgRow<Work>, 'replyAddress' | 'retryPolicy'> & {
  replyAddress: ReplyAddress | null;
  retryPolicy: RetryPolicy;
};

/** What a transition is decided on: the snapshot's columns, and the row's identity. */
export type KnownWork = Pick<
  WorkRow,
  | 'id'
  | 'parentId'
  | 'state'
  | 'pausedFrom'
  | 'attempt'
  | 'retryPolicy'
  | 'runSeq'
  | 'leaseOwner'
  | 'leaseToken'
  | 'leaseExpiresAt'
  | 'runAfter'
  | 'pauseRequested'
  | 'cancelRequested'
  | 'checkpointSeq'
  | 'version'
>;

export function toSnapshot(row: KnownWork): WorkSnapshot {
  return {
    state: row.state,
    pausedFrom: row.pausedFrom,
    attempt: row.attempt,
    retryPolicy: row.retryPolicy,
    runSeq: row.runSeq,
    leaseOwner: row.leaseOwner,
    leaseToken: BigInt(row.leaseToken),
    leaseExpiresAt: row.leaseExpiresAt?.getTime() ?? null,
    runAfter: row.runAfter?.getTime() ?? null,
    pauseRequested: row.pauseRequested,
    cancelRequested: row.cancelRequested,
    checkpointSeq: row.checkpointSeq,
    version: row.version,
  };
}
