import { z } from 'zod';
import {
  MISSED_FIRE_POLICIES,
  SCHEDULE_KINDS,
  WAIT_STATUSES,
  WAIT_TYPES,
  WORK_STATES,
} from '@app/core';

/*
 * The operator API's contract, in zod: requests are validated with these schemas
 * (Nest's StandardSchemaValidationPipe) and the OpenAPI document is generated from
 * them, so the two cannot drift. Response schemas only document (they are not
 * enforced at runtime); `.meta({ id })` makes each a named component.
 */

export const PAGE_LIMIT_MAX = 200;

/** A list parameter: repeated (`?state=A&state=B`) or comma-separated (`?state=A,B`). */
function listOf<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (v: unknown): unknown[] =>
      (Array.isArray(v) ? (v as unknown[]) : [v])
        .flatMap((s): unknown[] => (typeof s === 'string' ? s.split(',') : [s]))
        .map((s): unknown => (typeof s === 'string' ? s.trim() : s))
        .filter((s) => s !== ''),
    z.array(item).min(1),
  );
}

const instant = (what: string) =>
  z.iso
    .datetime({ offset: true })
    .transform((s) => new Date(s))
    .describe(`${what} (ISO 8601 with Z or an offset)`);

const limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(PAGE_LIMIT_MAX)
  .default(50)
  .describe(`page size (1-${PAGE_LIMIT_MAX})`);

const cursor = z
  .string()
  .min(1)
  .max(512)
  .describe('`nextCursor` of the previous page; absent for the first page');

const booleanFlag = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('`true` or `false`');

export const workId = z.uuid().describe('work id');

// ── requests ─────────────────────────────────────────────────────────────────────

export const listWorksQuery = z.strictObject({
  state: listOf(z.enum(WORK_STATES)).optional().describe('one or more states'),
  kind: z.string().min(1).optional().describe('workflow kind'),
  channel: z
    .string()
    .min(1)
    .optional()
    .describe('where the work came from: webhook, api, telegram, slack, schedule…'),
  conversation: z.string().min(1).optional().describe('conversation key, exactly'),
  createdFrom: instant('created at or after').optional(),
  createdTo: instant('created before').optional(),
  updatedFrom: instant('updated at or after').optional(),
  updatedTo: instant('updated before').optional(),
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('text anywhere in the work input (case-insensitive, on the JSON text)'),
  limit,
  cursor: cursor.optional(),
});
export type ListWorksQuery = z.output<typeof listWorksQuery>;

const reason = z.string().min(1).max(1000).describe('why, recorded in the timeline');
export const actionBody = z.strictObject({ reason: reason.optional() }).optional();
export type ActionBody = z.output<typeof actionBody>;

export const rerunBody = z.strictObject({
  fromStep: z.number().int().min(1).describe('the first step to run again (steps from 1)'),
  reason: reason.optional(),
});
export type RerunBody = z.output<typeof rerunBody>;

export const signalBody = z.strictObject({
  waitId: z.uuid().optional().describe('the wait to answer; the work’s open wait when absent'),
  payload: z.unknown().describe('the answer, validated against what the wait expects'),
});
export type SignalBody = z.output<typeof signalBody>;

export const ROUTE_DECISIONS = [
  'resumed',
  'inbox',
  'collected',
  'interrupted',
  'rejected',
  'asked',
  'opened',
  'dropped',
  'command',
] as const;

export const listEventsQuery = z.strictObject({
  channel: z.string().min(1).optional().describe('webhook, telegram, slack, schedule, api…'),
  source: z.string().min(1).optional().describe('the configured source (webhook source, bot…)'),
  decision: listOf(z.enum(ROUTE_DECISIONS)).optional().describe('one or more router decisions'),
  workId: z.uuid().optional().describe('events routed to this work'),
  from: instant('received at or after').optional(),
  to: instant('received before').optional(),
  limit,
  cursor: cursor.optional(),
});
export type ListEventsQuery = z.output<typeof listEventsQuery>;

export const OUTBOX_STATUSES = ['pending', 'sent', 'failed', 'cancelled'] as const;

export const listOutboxQuery = z.strictObject({
  status: listOf(z.enum(OUTBOX_STATUSES)).optional().describe('one or more statuses'),
  channel: z.string().min(1).optional(),
  workId: z.uuid().optional(),
  limit,
  cursor: cursor.optional(),
});
export type ListOutboxQuery = z.output<typeof listOutboxQuery>;

export const leasesQuery = z.strictObject({
  expired: booleanFlag.optional().describe('`true`: only leases that ran out'),
  limit: limit.default(PAGE_LIMIT_MAX),
});
export type LeasesQuery = z.output<typeof leasesQuery>;

export const statsQuery = z.strictObject({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(366)
    .default(30)
    .describe('how many UTC days of cost to return, today included'),
});
export type StatsQuery = z.output<typeof statsQuery>;

export const scheduleName = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'schedule names: lowercase letters, digits, ., - and _')
  .describe('schedule name');

// ── responses ────────────────────────────────────────────────────────────────────

const dateTime = z.iso.datetime();
const json = z.unknown();

export const workSummarySchema = z
  .object({
    id: z.uuid(),
    kind: z.string(),
    title: z
      .string()
      .nullable()
      .describe('what it is about, from its start (`title`) or its workflow (ctx.setTitle)'),
    state: z.enum(WORK_STATES),
    attempt: z.number().int(),
    channel: z.string().describe('where it came from (the work’s sourceType)'),
    conversationKey: z.string().nullable(),
    waitReason: z.string().nullable(),
    createdAt: dateTime,
    updatedAt: dateTime,
    runAfter: dateTime.nullable(),
    parentId: z.uuid().nullable(),
    costUsd: z.number().describe('sum of the work’s model calls'),
  })
  .meta({ id: 'WorkSummary' });

export const workPageSchema = z
  .object({ items: z.array(workSummarySchema), nextCursor: z.string().nullable() })
  .meta({ id: 'WorkPage' });

export const workFieldsSchema = workSummarySchema
  .extend({
    sourceType: z.string(),
    sourceId: z.string().nullable(),
    pausedFrom: z.enum(WORK_STATES).nullable(),
    input: json,
    output: json,
    error: json,
    retryPolicy: json,
    runSeq: z.number().int(),
    leaseOwner: z.string().nullable(),
    leaseToken: z.string().describe('fencing token (a 64-bit integer as a string)'),
    leaseExpiresAt: dateTime.nullable(),
    lastHeartbeatAt: dateTime.nullable(),
    checkpointSeq: z.number().int(),
    pauseRequested: z.boolean(),
    cancelRequested: z.boolean(),
    version: z.number().int(),
    finishedAt: dateTime.nullable(),
  })
  .meta({ id: 'WorkFields' });

export const timelineEntrySchema = z
  .object({
    seq: z.number().int(),
    type: z.string(),
    data: json,
    actor: z.string().nullable().describe('system, worker:<id>, token:<name>, a channel user'),
    at: dateTime,
  })
  .meta({ id: 'TimelineEntry' });

export const stepSchema = z
  .object({
    seq: z.number().int(),
    name: z.string(),
    type: z.enum(['task', 'llm', 'send', 'sleep', 'wait', 'child']),
    status: z.enum(['running', 'completed', 'failed']),
    attempt: z.number().int(),
    idempotencyKey: z.string(),
    input: json,
    output: json,
    error: json,
    workerId: z.string().nullable(),
    startedAt: dateTime,
    heartbeatAt: dateTime.nullable(),
    finishedAt: dateTime.nullable(),
    durationMs: z.number().nullable(),
  })
  .meta({ id: 'Step' });

export const waitSchema = z
  .object({
    id: z.uuid(),
    stepSeq: z.number().int(),
    type: z.enum(WAIT_TYPES),
    status: z.enum(WAIT_STATUSES),
    conversationKey: z.string().nullable(),
    correlationKey: z.string().nullable(),
    expects: json,
    responders: json,
    resumeChannel: z.string().nullable(),
    timeoutAt: dateTime.nullable().describe('when its timer next fires (timeout or next rung)'),
    onTimeout: z.enum(['fail', 'resume', 'escalate']),
    escalation: z
      .array(
        z.object({
          afterMs: z.number(),
          action: z.enum(['remind', 'escalate', 'default', 'fail']),
          target: z.string().optional(),
          value: json.optional(),
        }),
      )
      .nullable()
      .describe('the escalation ladder'),
    escalationRung: z.number().int().describe('rungs reached so far'),
    defaultValue: json,
    result: json,
    satisfiedByEventId: z.uuid().nullable(),
    createdAt: dateTime,
    resolvedAt: dateTime.nullable(),
  })
  .meta({ id: 'Wait' });

export const inboundEventSchema = z
  .object({
    id: z.uuid(),
    channel: z.string(),
    source: z.string(),
    externalId: z.string(),
    conversationKey: z.string().nullable(),
    correlationKey: z.string().nullable(),
    actor: json,
    body: json,
    decision: z.enum(ROUTE_DECISIONS),
    reason: z.string(),
    workId: z.uuid().nullable(),
    waitId: z.uuid().nullable(),
    consumedAt: dateTime.nullable(),
    receivedAt: dateTime,
  })
  .meta({ id: 'InboundEvent' });

export const inboundEventWithRawSchema = inboundEventSchema
  .extend({
    raw: json.describe('the payload as the channel delivered it, parsed'),
    rawBody: z
      .string()
      .nullable()
      .describe(
        'the exact body as received, where the channel keeps it (signed webhooks): numbers beyond double precision are exact here',
      ),
  })
  .meta({ id: 'InboundEventWithRaw' });

export const eventPageSchema = z
  .object({ items: z.array(inboundEventSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'InboundEventPage' });

export const modelCallSchema = z
  .object({
    id: z.uuid(),
    stepId: z.uuid().nullable(),
    provider: z.string(),
    model: z.string(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    cachedTokens: z.number().int(),
    costUsd: z.number(),
    finishReason: z.string().nullable(),
    latencyMs: z.number().int(),
    createdAt: dateTime,
  })
  .meta({ id: 'ModelCall' });

export const workDetailSchema = z
  .object({
    work: workFieldsSchema,
    timeline: z.array(timelineEntrySchema),
    steps: z.array(stepSchema),
    waits: z.array(waitSchema),
    inbox: z.array(inboundEventSchema).describe('events waiting in its inbox, oldest first'),
    modelCalls: z.array(modelCallSchema),
    costUsd: z.number(),
    parent: workSummarySchema.nullable(),
    children: z.array(workSummarySchema),
  })
  .meta({ id: 'WorkDetail' });

export const actionResultSchema = z
  .object({
    work: workSummarySchema,
    event: z.string().describe('the timeline event the action recorded'),
    waitId: z.uuid().optional().describe('signal: the wait it answered'),
  })
  .meta({ id: 'ActionResult' });

/** BullMQ 6 job states (a paused queue keeps its jobs in `waiting`; `paused` is a flag). */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;
export type QueueState = (typeof QUEUE_STATES)[number];
/** JSON keys of the counts: BullMQ's state names in camelCase. */
export const queueCountKey = (state: QueueState) =>
  state.replace(/-(.)/g, (_, c: string) => c.toUpperCase());

export const queueCountsSchema = z
  .object({
    name: z.enum(['work', 'wake', 'outbox']),
    ...Object.fromEntries(QUEUE_STATES.map((s) => [queueCountKey(s), z.number().int()])),
    paused: z.boolean().describe('the queue is paused (workers take no jobs from it)'),
  })
  .meta({ id: 'QueueCounts' });

export const queuesSchema = z.object({ queues: z.array(queueCountsSchema) }).meta({ id: 'Queues' });

export const leaseSchema = z
  .object({
    workId: z.uuid(),
    kind: z.string(),
    attempt: z.number().int(),
    leaseOwner: z.string().nullable(),
    leaseToken: z.string(),
    leaseExpiresAt: dateTime.nullable(),
    lastHeartbeatAt: dateTime.nullable(),
    expired: z.boolean().describe('ran out; the sweeper has not taken the work back yet'),
  })
  .meta({ id: 'Lease' });

export const leasesSchema = z.object({ items: z.array(leaseSchema) }).meta({ id: 'Leases' });

export const outboxSchema = z
  .object({
    id: z.uuid(),
    workId: z.uuid().nullable(),
    stepId: z.uuid().nullable(),
    channel: z.string(),
    target: z.string(),
    payload: json,
    idempotencyKey: z.string(),
    status: z.enum(OUTBOX_STATUSES),
    attempts: z.number().int(),
    nextAttemptAt: dateTime,
    lastError: z.string().nullable(),
    providerMessageId: z.string().nullable(),
    createdAt: dateTime,
    sentAt: dateTime.nullable(),
  })
  .meta({ id: 'OutboxMessage' });

export const outboxPageSchema = z
  .object({ items: z.array(outboxSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'OutboxPage' });

export const statsSchema = z
  .object({
    byState: z.object(Object.fromEntries(WORK_STATES.map((s) => [s, z.number().int()]))),
    costPerDay: z.array(z.object({ day: z.iso.date(), costUsd: z.number() })),
  })
  .meta({ id: 'Stats' });

export const scheduleSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(SCHEDULE_KINDS),
    cron: z.string().nullable(),
    timezone: z.string(),
    intervalMs: z.number().int().nullable(),
    runAt: dateTime.nullable(),
    workflowKind: z.string(),
    input: z.record(z.string(), json),
    enabled: z.boolean(),
    missedPolicy: z.enum(MISSED_FIRE_POLICIES),
    nextFireAt: dateTime.nullable(),
    lastFiredAt: dateTime.nullable(),
    createdAt: dateTime,
    updatedAt: dateTime,
  })
  .meta({ id: 'Schedule' });

export const schedulesSchema = z
  .object({ items: z.array(scheduleSchema) })
  .meta({ id: 'Schedules' });

/** RFC 9457 problem details, as every error of the API is answered. */
export const problemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string().describe('stable error code: validation_failed, not_found, …'),
    currentState: z
      .string()
      .optional()
      .describe('409 on a forbidden transition: the state the work is in now'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('400: what failed validation'),
  })
  .meta({ id: 'Problem' });
