import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Worker } from 'bullmq';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { QUEUE_NAMES, type QueueName } from '../queues/job-catalog';
import { ShardedQueues } from '../queues/sharded-queues';
import { JobRouter } from './job-router.service';

/**
 * Slots per process for each queue. Wake gets twice the work concurrency: a wake job
 * runs no workflow code, only one short ledger transaction and an enqueue, so it waits
 * on round trips, not CPU. Timers fall due in bursts; at half the work concurrency a
 * burst of 1 000 queued behind four slots and that queue was most of the timers'
 * lateness (docs/performance.md, "Timer lateness").
 */
export function queueConcurrency(queue: QueueName, concurrency: number): number {
  switch (queue) {
    case 'work':
      return concurrency;
    case 'wake':
      return concurrency * 2;
    case 'outbox':
      return Math.max(2, Math.ceil(concurrency / 2));
  }
}

/**
 * One BullMQ worker per shard of every queue; each job goes to its @OnJob handler
 * through the router. A queue's slots are divided among its shards (at least one
 * each), so `worker.concurrency` stays what one process runs at once whatever the
 * shard count. Workers start after the application has booted, so no job runs against
 * a half-initialised process, and close (letting active jobs end) at shutdown.
 */
@Injectable()
export class QueueProcessors implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly workers: Worker[] = [];
  private closing?: Promise<void>;

  constructor(
    private readonly router: JobRouter,
    private readonly queues: ShardedQueues,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    for (const queue of Object.values(QUEUE_NAMES)) {
      const names = this.queues.names(queue);
      const perShard = Math.max(
        1,
        Math.ceil(queueConcurrency(queue, this.config.worker.concurrency) / names.length),
      );
      for (const name of names) {
        const worker = new Worker(name, (job, token) => this.router.handle(job, token), {
          connection: this.queues.connection,
          prefix: this.queues.prefix,
          concurrency: perShard,
          autorun: false,
        });
        // Redis going away surfaces as 'error' events; BullMQ reconnects by itself, and
        // an unhandled 'error' event would take the process down with it.
        worker.on('error', (err) =>
          this.logger.warn({ queue: name, err: err.message }, 'queue worker error'),
        );
        worker.on('failed', (job, err) =>
          this.logger.warn({ queue: name, jobId: job?.id, err: err.message }, 'job failed'),
        );
        this.workers.push(worker);
        void worker.run();
      }
    }
  }

  /**
   * A draining worker takes no job from now on; the jobs it holds keep their locks and
   * finish (a run job ends once its run has stopped at a step boundary and released).
   */
  async stopClaiming(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.pause(true)));
  }

  /**
   * Closes every queue worker, waiting for the jobs they hold unless `force`: after a
   * drain released a run that never ended, its job would hold the close forever. BullMQ
   * then finds that job stalled and hands it out again, which is harmless: the claim is
   * decided on the ledger, so one run holds the work and any other skips.
   */
  close(force = false): Promise<void> {
    this.closing ??= Promise.all(this.workers.map((w) => w.close(force))).then(() => undefined);
    return this.closing;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}
