import { type BeforeApplicationShutdown, Inject, Injectable, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { ProcessHealth } from '@app/observability';
import { QueueProcessors } from '../jobs/processors';
import { WorkRunner } from '../runner/work-runner.service';

/**
 * A worker's part of a rolling restart, run when the app closes (SIGTERM, or the SDK's
 * `worker.close()`), before any connection closes so the releases can still commit and
 * enqueue: readiness turns 503, the queues stop handing out jobs, runs get the first
 * half of server.shutdownGrace to reach a step boundary and the next quarter to stop
 * once their steps are aborted; whatever still runs is released from here. The last
 * quarter is left for the queues and pools to close before the grace timer exits 1.
 */
@Injectable()
export class WorkerShutdown implements BeforeApplicationShutdown {
  constructor(
    private readonly processors: QueueProcessors,
    private readonly runner: WorkRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() private readonly health?: ProcessHealth,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.health?.beginDraining();
    const grace = this.config.server.shutdownGrace;
    await this.processors.stopClaiming();
    const drained = await this.runner.drain(Math.floor(grace / 2), Math.floor(grace / 4));
    this.logger.info(drained, 'worker drained');
    await this.processors.close(drained.forced > 0);
  }
}
