import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './env';

/** The jobs currently in a queue of a test's prefix (any state), by id. */
export async function jobIdsIn(prefix: string, queueName = 'work'): Promise<string[]> {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const queue = new Queue(queueName, { connection, prefix });
  try {
    const jobs = await queue.getJobs([
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'completed',
      'failed',
      'waiting-children',
    ]);
    return jobs
      .filter((j) => j)
      .map((j) => j.id!)
      .sort();
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
