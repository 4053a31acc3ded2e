import { type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { jobIds } from '@app/core';

/**
 * The one job catalog (STYLE.md): every job's name, queue, payload schema, id and
 * default options. Producers and processors both go through it, so a payload that does
 * not parse is a bug caught at the boundary, not a half-run job. Every job is a hint:
 * its handler re-reads the ledger and skips when the work has moved on.
 */
export const QUEUE_NAMES = { work: 'work', wake: 'wake', outbox: 'outbox' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * The BullMQ queue name of one shard of a queue. Shard 0 keeps the plain name, so a
 * single-shard deployment's keys are what they always were and a worker of any shard
 * count consumes the queue every other generation writes first. On a Redis Cluster each
 * shard's name is a hash tag (`{work-2}`): BullMQ's scripts touch several keys of one
 * queue at once, which a cluster allows only within one slot, and a tag per shard puts
 * shards in different slots, so they spread over the masters.
 */
export function shardQueueName(queue: QueueName, shard: number, hashTag: boolean): string {
  const name = shard === 0 ? queue : `${queue}-${shard}`;
  return hashTag ? `{${name}}` : name;
}

/**
 * Not a job: the Redis pub/sub channel a `nudge` dispatch is published on (the id of a
 * work whose cancel or interrupt was requested); every worker subscribes and the one
 * running that work reads its row at once instead of at its next heartbeat. Lost
 * messages cost only that wait.
 */
export const nudgeChannel = (prefix: string) => `${prefix}:nudge`;

// Completed jobs are removed: job ids carry a run sequence, rung or attempt, so a kept
// job is never needed to dedupe a later enqueue, and Redis memory stays flat under load.
// BullMQ-level retries are off: the ledger decides retries (work retry policy, outbox
// backoff), and the reconciler re-enqueues anything a lost job leaves behind.
const defaults: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 10_000 },
  attempts: 1,
};

export const runWorkJob = {
  name: 'run-work',
  queue: QUEUE_NAMES.work,
  payload: z.object({
    workId: z.uuid(),
    runSeq: z.number().int().positive(),
    /** Enqueued by the work's creation: claim it as created first (RunClaimSystem). */
    asCreated: z.literal(true).optional(),
  }),
  jobId: (p: { workId: string; runSeq: number }) => jobIds.work(p.workId, p.runSeq),
  shardKey: (p: { workId: string }) => p.workId,
  /**
   * A second job for the same run, when the first is stuck with a dead worker
   * (BullmqDispatcher.rescueRuns). BullMQ takes ids with colons only in three parts.
   */
  rescueJobId: (p: { workId: string; runSeq: number }) =>
    `${jobIds.work(p.workId, p.runSeq)}-rescue`,
  options: defaults,
} as const;

/** A wait's timer: the sleep itself, a timeout, or one rung of its escalation ladder. */
export const waitTimerJob = {
  name: 'wait-timer',
  queue: QUEUE_NAMES.wake,
  payload: z.object({ waitId: z.uuid(), rung: z.number().int().nonnegative() }),
  jobId: (p: { waitId: string; rung: number }) => jobIds.wait(p.waitId, p.rung),
  shardKey: (p: { waitId: string }) => p.waitId,
  options: defaults,
} as const;

/** A retry backoff has passed: run the work again. */
export const retryDueJob = {
  name: 'retry-due',
  queue: QUEUE_NAMES.wake,
  payload: z.object({
    workId: z.uuid(),
    attempt: z.number().int().positive(),
    runSeq: z.number().int().positive(),
  }),
  jobId: (p: { workId: string; attempt: number }) => jobIds.retry(p.workId, p.attempt),
  shardKey: (p: { workId: string }) => p.workId,
  options: defaults,
} as const;

/** A schedule's fire (produced by a BullMQ job scheduler, or by the reconciler for a missed one). */
export const scheduleFireJob = {
  name: 'schedule-fire',
  queue: QUEUE_NAMES.wake,
  payload: z.object({ scheduleId: z.uuid(), fireAt: z.number().int().optional() }),
  jobId: (p: { scheduleId: string; fireAt?: number }) =>
    jobIds.schedule(p.scheduleId, p.fireAt ?? 0),
  // Schedules and their BullMQ job schedulers all live on the first wake shard: there
  // are as many as the config names, not one per work, and ScheduleService lists them.
  shardKey: (_p: { scheduleId: string }) => null,
  options: defaults,
} as const;

/** Deliver one outbox row. */
export const deliverJob = {
  name: 'deliver',
  queue: QUEUE_NAMES.outbox,
  payload: z.object({ outboxId: z.uuid() }),
  jobId: (p: { outboxId: string }, attempt: number) => jobIds.outbox(p.outboxId, attempt),
  shardKey: (p: { outboxId: string }) => p.outboxId,
  // A delivery that threw (the ledger was unreachable) must not keep its id in the
  // failed set: the reconciler re-enqueues the still-pending row under that same id.
  options: { ...defaults, removeOnFail: true },
} as const;

/** A work ended with unread events in its inbox: route them again (InboxRerouter). */
export const rerouteInboxJob = {
  name: 'reroute-inbox',
  queue: QUEUE_NAMES.wake,
  payload: z.object({ workId: z.uuid(), runSeq: z.number().int().nonnegative() }),
  jobId: (p: { workId: string; runSeq: number }) => jobIds.reroute(p.workId, p.runSeq),
  shardKey: (p: { workId: string }) => p.workId,
  options: defaults,
} as const;

export type RunWorkPayload = z.infer<typeof runWorkJob.payload>;
export type WaitTimerPayload = z.infer<typeof waitTimerJob.payload>;
export type RetryDuePayload = z.infer<typeof retryDueJob.payload>;
export type ScheduleFirePayload = z.infer<typeof scheduleFireJob.payload>;
export type DeliverPayload = z.infer<typeof deliverJob.payload>;
export type RerouteInboxPayload = z.infer<typeof rerouteInboxJob.payload>;

export const JOB_CATALOG = [
  runWorkJob,
  waitTimerJob,
  retryDueJob,
  scheduleFireJob,
  deliverJob,
  rerouteInboxJob,
] as const;
export type JobName = (typeof JOB_CATALOG)[number]['name'];
