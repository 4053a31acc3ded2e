import { type WorkState } from '@app/core';
import { type OutboxRow, type OutboxStatus } from '../outbox/outbox.repository';
import { type WaitRow } from '../waits/wait.repository';
import { type StepStatus, type StepType } from '../steps/step.repository';

/** One page of a keyset-paginated list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A work as lists show it. `channel` is where it came from (the Work's sourceType). */
export interface WorkSummary {
  id: string;
  kind: string;
  state: WorkState;
  attempt: number;
  channel: string;
  conversationKey: string | null;
  waitReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  runAfter: Date | null;
  parentId: string | null;
  /** Sum of the work's model calls. */
  costUsd: number;
}

export interface WorkResultView {
  id: string;
  kind: string;
  state: WorkState;
  output: unknown;
  error: unknown;
  finishedAt: Date | null;
}

export interface WorkFilters {
  states?: WorkState[];
  kind?: string;
  channel?: string;
  conversationKey?: string;
  /** Inclusive lower and exclusive upper bounds. */
  createdFrom?: Date;
  createdTo?: Date;
  updatedFrom?: Date;
  updatedTo?: Date;
  /** Case-insensitive text anywhere in the work's input JSON. */
  q?: string;
  limit: number;
  cursor?: string;
}

export interface WorkFields extends WorkSummary {
  sourceType: string;
  sourceId: string | null;
  pausedFrom: WorkState | null;
  input: unknown;
  output: unknown;
  error: unknown;
  retryPolicy: unknown;
  runSeq: number;
  leaseOwner: string | null;
  leaseToken: string;
  leaseExpiresAt: Date | null;
  lastHeartbeatAt: Date | null;
  checkpointSeq: number;
  pauseRequested: boolean;
  cancelRequested: boolean;
  version: number;
  finishedAt: Date | null;
}

export interface TimelineEntry {
  seq: number;
  type: string;
  data: unknown;
  /** Who caused it: `system`, `worker:<id>`, `token:<name>`, a channel user. */
  actor: string | null;
  at: Date;
}

export interface StepView {
  seq: number;
  name: string;
  type: StepType;
  status: StepStatus;
  attempt: number;
  idempotencyKey: string;
  input: unknown;
  output: unknown;
  error: unknown;
  workerId: string | null;
  startedAt: Date;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  /** finishedAt − startedAt; null while running. */
  durationMs: number | null;
}

/**
 * A wait as an operator sees it: the ledger row without the routing internals.
 * `timeoutAt` is when its timer next fires (its timeout or the next escalation rung).
 */
export type WaitView = Omit<WaitRow, 'workId' | 'matchKeys' | 'promptRef'>;

export interface InboundEventView {
  id: string;
  channel: string;
  source: string;
  externalId: string;
  conversationKey: string | null;
  correlationKey: string | null;
  actor: unknown;
  body: unknown;
  decision: string;
  reason: string;
  workId: string | null;
  waitId: string | null;
  consumedAt: Date | null;
  receivedAt: Date;
}

export interface ModelCallView {
  id: string;
  stepId: string | null;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
  finishReason: string | null;
  latencyMs: number;
  createdAt: Date;
}

export interface WorkDetail {
  work: WorkFields;
  timeline: TimelineEntry[];
  steps: StepView[];
  waits: WaitView[];
  /** Events in the work's inbox that it has not taken yet (ctx.inbox()). */
  inbox: InboundEventView[];
  modelCalls: ModelCallView[];
  costUsd: number;
  parent: WorkSummary | null;
  children: WorkSummary[];
}

export interface EventFilters {
  channel?: string;
  source?: string;
  decisions?: string[];
  workId?: string;
  /** Inclusive lower and exclusive upper bounds on receivedAt. */
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

export interface LeaseView {
  workId: string;
  kind: string;
  attempt: number;
  leaseOwner: string | null;
  leaseToken: string;
  leaseExpiresAt: Date | null;
  lastHeartbeatAt: Date | null;
  /** The lease ran out and the sweeper has not taken the work back yet. */
  expired: boolean;
}

/** An outbound message as an operator sees it: the ledger row as is. */
export type OutboxView = OutboxRow;

export interface OutboxFilters {
  statuses?: OutboxStatus[];
  channel?: string;
  workId?: string;
  limit: number;
  cursor?: string;
}

export interface LedgerStats {
  /** Every state, 0 when none. */
  byState: Record<WorkState, number>;
  /** UTC days with model spend, oldest first. */
  costPerDay: Array<{ day: string; costUsd: number }>;
}
