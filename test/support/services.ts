import { execFileSync, execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL } from './env';
import { until } from './until';

/**
 * Stops and starts the machine's PostgreSQL and Redis for fault tests, with the same
 * commands ENVIRONMENT.md gives. Fault tests run serially (their own jest project,
 * --runInBand) after every other project, and always start what they stopped.
 */
const pgVersion = () => readdirSync('/etc/postgresql')[0]!;

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

export function stopPostgres(): void {
  execFileSync(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', pgVersion(), 'main', 'stop', '-m', 'fast'],
    { stdio: 'pipe' },
  );
}

export async function startPostgres(): Promise<void> {
  if (!(await postgresReady())) {
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', pgVersion(), 'main', 'start'], {
        stdio: 'pipe',
      });
    } catch (err) {
      if (!(await postgresReady())) throw err;
    }
  }
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
  try {
    execSync('redis-cli -u "$URL" shutdown nosave', {
      env: { ...process.env, URL: TEST_REDIS_URL },
      stdio: 'pipe',
    });
  } catch {
    // redis-cli reports the closed connection as an error after a successful shutdown.
  }
}

export async function startRedis(): Promise<void> {
  if (!(await redisReady())) {
    execSync(
      'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
      { stdio: 'pipe' },
    );
  }
  await until(() => redisReady(), 'Redis to answer PING again', 30_000, 100);
}
