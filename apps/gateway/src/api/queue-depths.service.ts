import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { type Queue } from 'bullmq';
import { ErrorCode, WorkgateError } from '@app/core';
import { QUEUE_NAMES, type QueueName } from '@app/engine';
import { QUEUE_STATES, queueCountKey } from './api.schemas';

export type QueueDepths = { name: QueueName; paused: boolean } & Record<string, number>;

/** Job counts per BullMQ state, read from the same Queue objects the gateway enqueues with. */
@Injectable()
export class QueueDepthsService {
  constructor(
    @InjectQueue(QUEUE_NAMES.work) private readonly work: Queue,
    @InjectQueue(QUEUE_NAMES.wake) private readonly wake: Queue,
    @InjectQueue(QUEUE_NAMES.outbox) private readonly outbox: Queue,
  ) {}

  queues(): Queue[] {
    return [this.work, this.wake, this.outbox];
  }

  async depths(): Promise<QueueDepths[]> {
    try {
      return await Promise.all(
        this.queues().map(async (queue) => {
          const [counts, paused] = await Promise.all([
            queue.getJobCounts(...QUEUE_STATES),
            queue.isPaused(),
          ]);
          const depths = Object.fromEntries(
            QUEUE_STATES.map((s) => [queueCountKey(s), counts[s] ?? 0]),
          );
          return { name: queue.name as QueueName, ...depths, paused } as QueueDepths;
        }),
      );
    } catch (err) {
      // The gateway's Redis connection fails fast (no offline queue): say so as a 503.
      throw new WorkgateError(
        ErrorCode.QueueUnavailable,
        `Redis is unreachable: ${(err as Error).message}`,
      );
    }
  }
}
