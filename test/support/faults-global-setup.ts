import { Client } from 'pg';
import { startDisposablePostgres, startDisposableRedis } from './disposable-services';

/**
 * The fault project's own PostgreSQL and Redis: fault tests stop, restart and wipe
 * them, so they are started here on free ports in a temporary directory and every
 * test file of the project reaches them through TEST_DATABASE_URL / TEST_REDIS_URL
 * (jest's workers inherit this process's environment). The machine's own services
 * are never touched. faults-global-teardown.ts removes them.
 */
export default async function faultsGlobalSetup(): Promise<void> {
  const [pg, redis] = await Promise.all([startDisposablePostgres(), startDisposableRedis()]);
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE workgate_test');
  } finally {
    await admin.end();
  }
  process.env.TEST_DATABASE_URL = pg.url('workgate_test');
  process.env.TEST_REDIS_URL = redis.url;
  process.env.WORKGATE_TEST_PG = `${pg.dir}:${pg.port}`;
  process.env.WORKGATE_TEST_REDIS = `${redis.dir}:${redis.port}`;
}
