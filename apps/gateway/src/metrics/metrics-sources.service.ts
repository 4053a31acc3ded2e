import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { type Queue } from 'bullmq';
import { WORK_STATES } from '@app/core';
import { QUEUE_NAMES } from '@app/engine';
import { LedgerDatabase } from '@app/ledger';
import { PromMetrics } from '@app/observability';
import { QUEUE_STATES } from '../api/api.schemas';

/**
 * The gauges that describe the whole system, read on scrape: works per state (one
 * COUNT … GROUP BY, Prisma's groupBy) and BullMQ job counts. Only the gateway reports them: every
 * replica would report the same numbers, so aggregate them with max(), not sum().
 */
@Injectable()
export class MetricsSources implements OnModuleInit {
  constructor(
    private readonly metrics: PromMetrics,
    private readonly db: LedgerDatabase,
    @InjectQueue(QUEUE_NAMES.work) private readonly work: Queue,
    @InjectQueue(QUEUE_NAMES.wake) private readonly wake: Queue,
    @InjectQueue(QUEUE_NAMES.outbox) private readonly outbox: Queue,
  ) {}

  onModuleInit(): void {
    this.metrics.setWorksByStateSource(() => this.worksByState());
    this.metrics.setQueueDepthSource(() => this.queueDepths());
  }

  async worksByState(): Promise<Record<string, number>> {
    const rows = await this.db.prisma.work.groupBy({ by: ['state'], _count: { _all: true } });
    // Every state, 0 when none: a series that vanishes reads as "no data", not zero.
    const counts: Record<string, number> = Object.fromEntries(WORK_STATES.map((s) => [s, 0]));
    for (const row of rows) counts[row.state] = row._count._all;
    return counts;
  }

  async queueDepths(): Promise<Array<{ queue: string; counts: Record<string, number> }>> {
    return Promise.all(
      [this.work, this.wake, this.outbox].map(async (queue) => {
        const counts = await queue.getJobCounts(...QUEUE_STATES);
        return {
          queue: queue.name,
          counts: Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])),
        };
      }),
    );
  }
}
