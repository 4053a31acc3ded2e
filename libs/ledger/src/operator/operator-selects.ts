import { type Prisma } from '../generated/prisma/client';
import {
  type ModelCallView,
  type StepView,
  type WorkFields,
  type WorkSummary,
} from './operator.types';

/*
 * What each operator view reads (Prisma `select`s) and how a row becomes the view the
 * API answers. The mappers build each object field by field, in the order the API has
 * always sent them, and turn what JSON cannot carry as Prisma returns it into what it
 * can: int8 (bigint) as text, numeric (Decimal) as a number.
 */

export const SUMMARY_SELECT = {
  id: true,
  kind: true,
  title: true,
  state: true,
  attempt: true,
  sourceType: true,
  conversationKey: true,
  waitReason: true,
  createdAt: true,
  updatedAt: true,
  runAfter: true,
  parentId: true,
} as const satisfies Prisma.WorkSelect;

export const DETAIL_SELECT = {
  ...SUMMARY_SELECT,
  sourceId: true,
  pausedFrom: true,
  input: true,
  output: true,
  error: true,
  retryPolicy: true,
  runSeq: true,
  leaseOwner: true,
  leaseToken: true,
  leaseExpiresAt: true,
  lastHeartbeatAt: true,
  checkpointSeq: true,
  pauseRequested: true,
  cancelRequested: true,
  version: true,
  finishedAt: true,
} as const satisfies Prisma.WorkSelect;

export const TIMELINE_SELECT = {
  seq: true,
  type: true,
  data: true,
  actor: true,
  at: true,
} as const satisfies Prisma.WorkEventSelect;

export const STEP_SELECT = {
  seq: true,
  name: true,
  type: true,
  status: true,
  attempt: true,
  idempotencyKey: true,
  input: true,
  output: true,
  error: true,
  workerId: true,
  startedAt: true,
  heartbeatAt: true,
  finishedAt: true,
} as const satisfies Prisma.StepSelect;

/** A wait as an operator sees it: the ledger row without the routing internals. */
export const WAIT_SELECT = {
  id: true,
  stepSeq: true,
  type: true,
  status: true,
  conversationKey: true,
  correlationKey: true,
  expects: true,
  responders: true,
  resumeChannel: true,
  timeoutAt: true,
  onTimeout: true,
  escalation: true,
  escalationRung: true,
  defaultValue: true,
  result: true,
  satisfiedByEventId: true,
  createdAt: true,
  resolvedAt: true,
} as const satisfies Prisma.WaitSelect;

export const INBOX_SELECT = {
  id: true,
  channel: true,
  source: true,
  externalId: true,
  conversationKey: true,
  correlationKey: true,
  actor: true,
  body: true,
  decision: true,
  reason: true,
  workId: true,
  waitId: true,
  consumedAt: true,
  receivedAt: true,
} as const satisfies Prisma.InboundEventSelect;

export const MODEL_CALL_SELECT = {
  id: true,
  stepId: true,
  provider: true,
  model: true,
  inputTokens: true,
  outputTokens: true,
  cachedTokens: true,
  costUsd: true,
  finishReason: true,
  latencyMs: true,
  createdAt: true,
} as const satisfies Prisma.ModelCallSelect;

type SummaryRow = Prisma.WorkGetPayload<{ select: typeof SUMMARY_SELECT }>;
type DetailRow = Prisma.WorkGetPayload<{ select: typeof DETAIL_SELECT }>;
type StepRowSelected = Prisma.StepGetPayload<{ select: typeof STEP_SELECT }>;
type ModelCallRow = Prisma.ModelCallGetPayload<{ select: typeof MODEL_CALL_SELECT }>;

/** `costs`: model spend per work id; a work without model calls costs 0. */
export function toSummary(row: SummaryRow, costs: Map<string, number>): WorkSummary {
  return {
    id: row.id,
    kind: row.kind,
    title: row.title,
    state: row.state,
    attempt: row.attempt,
    channel: row.sourceType,
    conversationKey: row.conversationKey,
    waitReason: row.waitReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    runAfter: row.runAfter,
    parentId: row.parentId,
    costUsd: costs.get(row.id) ?? 0,
  };
}

export function toWorkFields(row: DetailRow, costs: Map<string, number>): WorkFields {
  return {
    ...toSummary(row, costs),
    sourceType: row.sourceType,
    sourceId: row.sourceId,
    pausedFrom: row.pausedFrom,
    input: row.input,
    output: row.output,
    error: row.error,
    retryPolicy: row.retryPolicy,
    runSeq: row.runSeq,
    leaseOwner: row.leaseOwner,
    leaseToken: row.leaseToken.toString(),
    leaseExpiresAt: row.leaseExpiresAt,
    lastHeartbeatAt: row.lastHeartbeatAt,
    checkpointSeq: row.checkpointSeq,
    pauseRequested: row.pauseRequested,
    cancelRequested: row.cancelRequested,
    version: row.version,
    finishedAt: row.finishedAt,
  };
}

export function toStepView(row: StepRowSelected): StepView {
  return {
    ...row,
    durationMs: row.finishedAt ? row.finishedAt.getTime() - row.startedAt.getTime() : null,
  };
}

export function toModelCallView(row: ModelCallRow): ModelCallView {
  return { ...row, costUsd: row.costUsd.toNumber() };
}
