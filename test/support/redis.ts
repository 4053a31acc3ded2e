import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './env';

/** A Redis key prefix of its own for one test file; cleanup() deletes its keys. */
export function testQueuePrefix(label = 'wgt'): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix:` (a test file's or a bench scenario's queues and the rest). */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
