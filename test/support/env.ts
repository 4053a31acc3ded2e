/** Connection settings for tests; the same variables .ci/run and the README use. */
export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/workgate_test';
export const TEST_REDIS_URL =
  process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_DATABASE_URL = TEST_DATABASE_URL.replace(/\/[^/?]+(\?|$)/, '/postgres$1');
