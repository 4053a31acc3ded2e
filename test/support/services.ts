import { Client } from 'pg';
import { Redis } from 'ioredis';
import {
  attachPostgres,
  attachRedis,
  type DisposablePostgres,
  type DisposableRedis,
} from './disposable-services';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL } from './env';
import { until } from './until';

/**
 * Stops and starts the fault project's own PostgreSQL and Redis (faults-global-setup.ts
 * starts them on free ports; never the machine's own services, which other checkouts
 * and every non-fault test use). Fault tests run serially (their own jest project,
 * --runInBand) and always start what they stopped.
 */
export function disposableServices(): { postgres: DisposablePostgres; redis: DisposableRedis } {
  const pg = process.env.WORKGATE_TEST_PG;
  const redis = process.env.WORKGATE_TEST_REDIS;
  if (!pg || !redis)
    throw new Error(
      'no disposable PostgreSQL/Redis: fault tests run in the faults jest project, whose global setup starts them (npm run test:faults)',
    );
  const [pgDir, pgPort] = pg.split(':') as [string, string];
  const [redisDir, redisPort] = redis.split(':') as [string, string];
  return {
    postgres: attachPostgres(pgDir, Number(pgPort)),
    redis: attachRedis(redisDir, Number(redisPort)),
  };
}

export async function postgresReady(): Promise<boolean> {
  const client = new Client({
    connectionString: ADMIN_DATABASE_URL,
    connectionTimeoutMillis: 1000,
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function stopPostgres(mode: 'fast' | 'immediate' = 'fast'): void {
  disposableServices().postgres.stop(mode);
}

export async function startPostgres(): Promise<void> {
  if (!(await postgresReady())) disposableServices().postgres.start();
  await until(() => postgresReady(), 'PostgreSQL to accept connections again', 30_000, 200);
}

export async function redisReady(): Promise<boolean> {
  const redis = new Redis(TEST_REDIS_URL, {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export function stopRedis(): void {
  disposableServices().redis.stop();
}

export async function startRedis(): Promise<void> {
  if (!(await redisReady())) disposableServices().redis.start();
  await until(() => redisReady(), 'Redis to answer PING again', 30_000, 100);
}
