import { Injectable, type OnModuleInit } from '@nestjs/common';
import { WORK_STATES } from '@app/core';
import { QUEUE_NAMES, ShardedQueues } from '@app/engine';
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
    private readonly queues: ShardedQueues,
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
    // A sharded queue is reported as one: the sum over its shards.
    return Promise.all(
      Object.values(QUEUE_NAMES).map(async (queue) => {
        const shards = await Promise.all(
          this.queues.all(queue).map((q) => q.getJobCounts(...QUEUE_STATES)),
        );
        return {
          queue,
          counts: Object.fromEntries(
            QUEUE_STATES.map((s) => [s, shards.reduce((sum, c) => sum + (c[s] ?? 0), 0)]),
          ),
        };
      }),
    );
  }
}
