import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { type Job } from 'bullmq';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { QUEUE_NAMES } from '../queues/job-catalog';
import { JobRouter } from './job-router.service';

/**
 * One BullMQ worker per queue; each job goes to its @OnJob handler through the router.
 * Workers start after the application has booted (autorun off), with the configured
 * concurrency, so no job runs against a half-initialised process.
 */
abstract class RoutedProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    protected readonly router: JobRouter,
    private readonly concurrency: number,
    private readonly logger: Logger,
  ) {
    super();
  }

  process(job: Job, token?: string): Promise<unknown> {
    return this.router.handle(job, token);
  }

  onApplicationBootstrap(): void {
    // Redis going away surfaces as 'error' events; BullMQ reconnects by itself, and an
    // unhandled 'error' event would take the process down with it.
    this.worker.on('error', (err) =>
      this.logger.warn({ queue: this.worker.name, err: err.message }, 'queue worker error'),
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ queue: this.worker.name, jobId: job?.id, err: err.message }, 'job failed'),
    );
    this.worker.concurrency = this.concurrency;
    void this.worker.run();
  }
}

@Processor(QUEUE_NAMES.work, { autorun: false })
export class WorkProcessor extends RoutedProcessor {
  constructor(
    router: JobRouter,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    super(router, config.worker.concurrency, logger);
  }
}

/**
 * Twice the work concurrency: a wake job runs no workflow code, only one short ledger
 * transaction and an enqueue, so it waits on round trips, not CPU. Timers fall due in
 * bursts; at half the work concurrency a burst of 1 000 queued behind four slots and
 * that queue was most of the timers' lateness (docs/performance.md, "Timer lateness").
 */
@Processor(QUEUE_NAMES.wake, { autorun: false })
export class WakeProcessor extends RoutedProcessor {
  constructor(
    router: JobRouter,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    super(router, config.worker.concurrency * 2, logger);
  }
}

@Processor(QUEUE_NAMES.outbox, { autorun: false })
export class OutboxProcessor extends RoutedProcessor {
  constructor(
    router: JobRouter,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    super(router, Math.max(2, Math.ceil(config.worker.concurrency / 2)), logger);
  }
}
