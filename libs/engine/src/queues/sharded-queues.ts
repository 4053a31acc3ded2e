import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { shardOf } from '@app/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { QUEUE_NAMES, type QueueName, shardQueueName } from './job-catalog';
import { REDIS } from './redis.module';
import { type RedisClient } from './redis-connection';

/**
 * The producer side of every queue of the catalog, `queues.shards` BullMQ queues each.
 * A job goes to the shard of its catalog `shardKey` (the work, wait or outbox row it is
 * about), so a job id always lives in one known shard: dedupe by id, getJob and the
 * reconciler's "does this work have a job" all look there. All queues share the
 * process's connection.
 */
@Injectable()
export class ShardedQueues implements OnApplicationShutdown {
  readonly shards: number;
  readonly clustered: boolean;
  readonly prefix: string;
  private readonly queues = new Map<QueueName, Queue[]>();

  constructor(
    @Inject(REDIS) readonly connection: RedisClient,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.shards = config.queues.shards;
    this.clustered = connection instanceof Cluster;
    this.prefix = config.env.WORKGATE_QUEUE_PREFIX;
    // The first {…} in a key is its hash tag: one in the prefix would pin every shard of
    // every queue to a single slot, which is what sharding is for avoiding.
    if (this.clustered && /[{}]/.test(this.prefix))
      throw new Error(
        `WORKGATE_QUEUE_PREFIX "${this.prefix}" contains { or }: on a Redis Cluster the queue names carry the hash tags`,
      );
    for (const queue of Object.values(QUEUE_NAMES))
      this.queues.set(
        queue,
        this.names(queue).map((name) => new Queue(name, { connection, prefix: this.prefix })),
      );
  }

  /** The BullMQ names of a queue's shards, shard 0 first. */
  names(queue: QueueName): string[] {
    return Array.from({ length: this.shards }, (_, i) => shardQueueName(queue, i, this.clustered));
  }

  /** The shard a job about `key` goes to; null (jobs not about one work) is shard 0. */
  for(queue: QueueName, key: string | null): Queue {
    const shards = this.all(queue);
    return shards[key === null ? 0 : shardOf(key, shards.length)]!;
  }

  /** Every shard of a queue, shard 0 first. */
  all(queue: QueueName): Queue[] {
    return this.queues.get(queue)!;
  }

  /** Every shard of every queue. */
  everything(): Queue[] {
    return [...this.queues.values()].flat();
  }

  async onApplicationShutdown(): Promise<void> {
    // The connection is shared (passed in), so closing a Queue leaves it to RedisModule.
    await Promise.all(this.everything().map((q) => q.close().catch(() => undefined)));
  }
}
