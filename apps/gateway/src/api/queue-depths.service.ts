import { Injectable } from '@nestjs/common';
import { type Queue } from 'bullmq';
import { ErrorCode, WorkgateError } from '@app/core';
import { QUEUE_NAMES, type QueueName, ShardedQueues } from '@app/engine';
import { QUEUE_STATES, queueCountKey } from './api.schemas';

export type QueueDepths = { name: QueueName; paused: boolean } & Record<string, number>;

/**
 * Job counts per BullMQ state, read from the same Queue objects the gateway enqueues
 * with; a sharded queue reports the sum over its shards (paused if any shard is).
 */
@Injectable()
export class QueueDepthsService {
  constructor(private readonly sharded: ShardedQueues) {}

  queues(): Queue[] {
    return this.sharded.everything();
  }

  async depths(): Promise<QueueDepths[]> {
    try {
      return await Promise.all(
        Object.values(QUEUE_NAMES).map(async (name: QueueName) => {
          const shards = await Promise.all(
            this.sharded
              .all(name)
              .map((queue) =>
                Promise.all([queue.getJobCounts(...QUEUE_STATES), queue.isPaused()] as const),
              ),
          );
          const depths = Object.fromEntries(
            QUEUE_STATES.map((s) => [
              queueCountKey(s),
              shards.reduce((sum, [counts]) => sum + (counts[s] ?? 0), 0),
            ]),
          );
          const paused = shards.some(([, p]) => p);
          return { name, ...depths, paused } as QueueDepths;
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
