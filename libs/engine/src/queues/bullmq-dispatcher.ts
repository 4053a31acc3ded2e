import { Inject, Injectable } from '@nestjs/common';
import { type Job, type JobsOptions, type Queue } from 'bullmq';
import { CLOCK, type Clock } from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type Dispatch, type WorkDispatcher } from '@app/ledger';
import {
  deliverJob,
  nudgeChannel,
  QUEUE_NAMES,
  rerouteInboxJob,
  retryDueJob,
  runWorkJob,
  waitTimerJob,
} from './job-catalog';
import { REDIS } from './redis.module';
import { type RedisClient } from './redis-connection';
import { ShardedQueues } from './sharded-queues';

interface Planned {
  queue: Queue;
  name: string;
  data: object;
  opts: JobsOptions;
}

/** The ledger's WorkDispatcher port on BullMQ: every dispatch is a job from the catalog. */
@Injectable()
export class BullmqDispatcher implements WorkDispatcher {
  constructor(
    private readonly queues: ShardedQueues,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Run jobs for works that have stayed QUEUED longer than a lease (the reconciler's
   * repair). A run job that a killed worker had taken stays in BullMQ's active list
   * until stall detection (lockDuration + stalledInterval: up to a minute), and a failed
   * one keeps its id for a day; add() dedupes against either, so the work would sit
   * QUEUED. A finished (failed or completed) job is removed and added again under its
   * id; an active one gets a second job under the rescue id, itself replaced when it has
   * finished. Every job is a hint and the claim is conditional: the handler re-reads the
   * ledger and skips a work that moved on, so running one twice costs a skipped job.
   * Returns how many works got a job.
   */
  async rescueRuns(items: Array<{ workId: string; runSeq: number; at?: number }>): Promise<number> {
    const planned: Dispatch[] = [];
    const rescues: Array<{ workId: string; runSeq: number }> = [];
    for (const item of items) {
      // The shard this work's jobs go to under the current shard count. A job left in
      // another shard by a different count is not seen here: the work gets a job in its
      // shard now, and the old one, if it ever runs, finds the work moved on and skips.
      const queue = this.queues.for(QUEUE_NAMES.work, runWorkJob.shardKey(item));
      const id = runWorkJob.jobId(item);
      const state = await queue.getJobState(id);
      if (
        state === 'unknown' ||
        ((state === 'failed' || state === 'completed') && (await removeFinished(queue, id)))
      )
        planned.push({ type: 'run', ...item });
      else if (state === 'active') {
        const rescueId = runWorkJob.rescueJobId(item);
        const rescueState = await queue.getJobState(rescueId);
        if (
          rescueState === 'unknown' ||
          ((rescueState === 'failed' || rescueState === 'completed') &&
            (await removeFinished(queue, rescueId)))
        )
          rescues.push({ workId: item.workId, runSeq: item.runSeq });
      }
    }
    await this.dispatch(planned);
    for (const r of rescues) {
      const data = runWorkJob.payload.parse(r);
      await this.queues
        .for(QUEUE_NAMES.work, runWorkJob.shardKey(data))
        .add(runWorkJob.name, data, { ...runWorkJob.options, jobId: runWorkJob.rescueJobId(data) });
    }
    return planned.length + rescues.length;
  }

  /**
   * Drops a timer's delayed job once its timer fired another way (the timer wheel):
   * left, it would run at its time only to find the wait resolved. One Redis call where
   * running it costs two and a ledger read; a job already running is not removed (BullMQ
   * keeps locked jobs) and finds the wait resolved as before.
   */
  async dropTimer(waitId: string, rung: number): Promise<void> {
    await this.queues
      .for(QUEUE_NAMES.wake, waitTimerJob.shardKey({ waitId }))
      .remove(waitTimerJob.jobId({ waitId, rung }));
  }

  /** The job already there under a `replace` item's id, and when the item wants it. */
  private async replaceable(
    item: Exclude<Dispatch, { type: 'nudge' }>,
  ): Promise<{ job: Job; at: number } | null> {
    let job: Job | undefined;
    if (item.type === 'wait-timer' && item.replace)
      job = await this.queues
        .for(QUEUE_NAMES.wake, waitTimerJob.shardKey(item))
        .getJob(waitTimerJob.jobId({ waitId: item.waitId, rung: item.rung }));
    else if (item.type === 'deliver' && item.replace)
      job = await this.queues
        .for(QUEUE_NAMES.outbox, deliverJob.shardKey(item))
        .getJob(deliverJob.jobId(item, item.attempt));
    else return null;
    return job ? { job, at: item.at ?? this.clock.now() } : null;
  }

  async dispatch(items: Dispatch[]): Promise<void> {
    const now = this.clock.now();
    // Replacing goes by id: a delayed job already there moves to the new time (BullMQ's
    // add() would keep the old one and ignore the new).
    const rest: Array<Exclude<Dispatch, { type: 'nudge' }>> = [];
    for (const item of items) {
      if (item.type === 'nudge') {
        // A hint: lost, it costs the run's wait for its next heartbeat, nothing else.
        await this.redis
          .publish(nudgeChannel(this.config.env.WORKGATE_QUEUE_PREFIX), item.workId)
          .catch(() => undefined);
        continue;
      }
      const existing = await this.replaceable(item);
      if (existing && (await existing.job.isDelayed()))
        await existing.job.changeDelay(Math.max(0, existing.at - now));
      else rest.push(item);
    }
    const delay = (at: number | undefined) => (at !== undefined && at > now ? at - now : undefined);
    const planned: Planned[] = rest.map((item): Planned => {
      switch (item.type) {
        case 'run': {
          // The catalog's schema keeps its own fields (workId, runSeq, asCreated) only.
          const data = runWorkJob.payload.parse(item);
          return {
            queue: this.queues.for(QUEUE_NAMES.work, runWorkJob.shardKey(data)),
            name: runWorkJob.name,
            data,
            opts: { ...runWorkJob.options, jobId: runWorkJob.jobId(data), delay: delay(item.at) },
          };
        }
        case 'retry': {
          const data = retryDueJob.payload.parse({
            workId: item.workId,
            attempt: item.attempt,
            runSeq: item.runSeq,
          });
          return {
            queue: this.queues.for(QUEUE_NAMES.wake, retryDueJob.shardKey(data)),
            name: retryDueJob.name,
            data,
            opts: { ...retryDueJob.options, jobId: retryDueJob.jobId(data), delay: delay(item.at) },
          };
        }
        case 'wait-timer': {
          const data = waitTimerJob.payload.parse({ waitId: item.waitId, rung: item.rung });
          return {
            queue: this.queues.for(QUEUE_NAMES.wake, waitTimerJob.shardKey(data)),
            name: waitTimerJob.name,
            data,
            opts: {
              ...waitTimerJob.options,
              jobId: waitTimerJob.jobId(data),
              delay: delay(item.at),
            },
          };
        }
        case 'reroute': {
          const data = rerouteInboxJob.payload.parse({ workId: item.workId, runSeq: item.runSeq });
          return {
            queue: this.queues.for(QUEUE_NAMES.wake, rerouteInboxJob.shardKey(data)),
            name: rerouteInboxJob.name,
            data,
            opts: { ...rerouteInboxJob.options, jobId: rerouteInboxJob.jobId(data) },
          };
        }
        case 'deliver': {
          const data = deliverJob.payload.parse({ outboxId: item.outboxId });
          return {
            queue: this.queues.for(QUEUE_NAMES.outbox, deliverJob.shardKey(data)),
            name: deliverJob.name,
            data,
            opts: {
              ...deliverJob.options,
              jobId: deliverJob.jobId(data, item.attempt),
              delay: delay(item.at),
            },
          };
        }
      }
    });
    // One round trip per queue shard: addBulk is a single MULTI, whose keys all share the
    // shard's hash tag on a cluster.
    const byQueue = new Map<Queue, Planned[]>();
    for (const p of planned) byQueue.set(p.queue, [...(byQueue.get(p.queue) ?? []), p]);
    for (const [queue, jobs] of byQueue) {
      if (jobs.length === 1) await queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
      else await queue.addBulk(jobs.map(({ name, data, opts }) => ({ name, data, opts })));
    }
  }
}

/** Frees a finished job's id; false when it could not be removed (taken again meanwhile). */
async function removeFinished(queue: Queue, jobId: string): Promise<boolean> {
  return (await queue.remove(jobId)) === 1;
}
