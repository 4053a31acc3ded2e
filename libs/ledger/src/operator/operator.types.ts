import { type WorkState } from '@app/core';
import {
  type InboundEvent,
  type ModelCall,
  type Outbox,
  type RouteDecision,
  type Step,
  type Wait,
  type Work,
  type WorkEvent,
} from '../generated/prisma/client';
import { type OutboxStatus } from '../outbox/outbox.repository';

/** One page of a keyset-paginated list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * A work as lists show it: schema.prisma's Work fields, with `channel` for where it
 * came from (the Work's sourceType) and `costUsd`, the sum of its model calls.
 */
export type WorkSummary = Pick<
  Work,
  | 'id'
  | 'kind'
  | 'title'
  | 'state'
  | 'attempt'
  | 'conversationKey'
  | 'waitReason'
  | 'createdAt'
  | 'updatedAt'
  | 'runAfter'
  | 'parentId'
> & { channel: string; costUsd: number };

export type WorkResultView = Pick<
  Work,
  'id' | 'kind' | 'state' | 'output' | 'error' | 'finishedAt'
>;

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

/** A work in full: every field but the routing internals; `leaseToken` (int8) as text, as JSON carries it. */
export type WorkFields = WorkSummary &
  Pick<
    Work,
    | 'sourceType'
    | 'sourceId'
    | 'pausedFrom'
    | 'input'
    | 'output'
    | 'error'
    | 'retryPolicy'
    | 'runSeq'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'lastHeartbeatAt'
    | 'checkpointSeq'
    | 'pauseRequested'
    | 'cancelRequested'
    | 'version'
    | 'finishedAt'
  > & { leaseToken: string };

/** A timeline entry; `actor` is who caused it: `system`, `worker:<id>`, `token:<name>`, a channel user. */
export type TimelineEntry = Pick<WorkEvent, 'seq' | 'type' | 'data' | 'actor' | 'at'>;

export type StepView = Pick<
  Step,
  | 'seq'
  | 'name'
  | 'type'
  | 'status'
  | 'attempt'
  | 'idempotencyKey'
  | 'input'
  | 'output'
  | 'error'
  | 'workerId'
  | 'startedAt'
  | 'heartbeatAt'
  | 'finishedAt'
> & {
  /** finishedAt − startedAt; null while running. */
  durationMs: number | null;
};

/**
 * A wait as an operator sees it: the ledger row without the routing internals.
 * `timeoutAt` is when its timer next fires (its timeout or the next escalation rung).
 */
export type WaitView = Omit<Wait, 'workId' | 'matchKeys' | 'promptRef'>;

/** An inbound event with the router's decision (its raw payload only in a single event's view). */
export type InboundEventView = Pick<
  InboundEvent,
  | 'id'
  | 'channel'
  | 'source'
  | 'externalId'
  | 'conversationKey'
  | 'correlationKey'
  | 'actor'
  | 'body'
  | 'decision'
  | 'reason'
  | 'workId'
  | 'waitId'
  | 'consumedAt'
  | 'receivedAt'
>;

/** A model call; `costUsd` (numeric) as a JSON number. */
export type ModelCallView = Pick<
  ModelCall,
  | 'id'
  | 'stepId'
  | 'provider'
  | 'model'
  | 'inputTokens'
  | 'outputTokens'
  | 'cachedTokens'
  | 'finishReason'
  | 'latencyMs'
  | 'createdAt'
> & { costUsd: number };

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
  decisions?: RouteDecision[];
  workId?: string;
  /** Inclusive lower and exclusive upper bounds on receivedAt. */
  from?: Date;
  to?: Date;
  limit: number;
  cursor?: string;
}

/** A RUNNING work's lease; `leaseToken` (int8) as text. */
export type LeaseView = { workId: string } & Pick<
  Work,
  'kind' | 'attempt' | 'leaseOwner' | 'leaseExpiresAt' | 'lastHeartbeatAt'
> & {
    leaseToken: string;
    /** The lease ran out and the sweeper has not taken the work back yet. */
    expired: boolean;
  };

/** An outbound message as an operator sees it: the ledger row as is. */
export type OutboxView = Outbox;

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
