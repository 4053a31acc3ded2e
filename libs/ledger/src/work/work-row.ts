import { type RetryPolicy, type WorkSnapshot, type WorkState } from '@app/core';

/** A "Work" row as the pg driver returns it (bigint as string, timestamptz as Date). */
export interface WorkRow {
  id: string;
  kind: string;
  state: WorkState;
  pausedFrom: WorkState | null;
  sourceType: string;
  sourceId: string | null;
  conversationKey: string | null;
  /** Where replies to the origin go (chat works); null for webhooks and the API. */
  replyAddress: { channel: string; target: string; thread?: string } | null;
  parentId: string | null;
  input: unknown;
  output: unknown;
  error: unknown;
  attempt: number;
  retryPolicy: RetryPolicy;
  runAfter: Date | null;
  runSeq: number;
  leaseOwner: string | null;
  leaseToken: string;
  leaseExpiresAt: Date | null;
  lastHeartbeatAt: Date | null;
  checkpointSeq: number;
  waitReason: string | null;
  pauseRequested: boolean;
  cancelRequested: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export function toSnapshot(row: WorkRow): WorkSnapshot {
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
