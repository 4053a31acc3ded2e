import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createGateway } from '../../apps/gateway/src/gateway.app';
import { type AppConfig, createLogger, loadConfig } from '../../libs/config/src';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from './env';

export interface TestGateway {
  app: NestFastifyApplication;
  url: string;
  config: AppConfig;
  close(): Promise<void>;
}

/** Builds the app config tests use: their own schema and Redis prefix, config from overrides. */
export function testConfig(opts: {
  schema: string;
  prefix: string;
  overrides?: Record<string, unknown>;
  env?: Record<string, string>;
}): AppConfig {
  return loadConfig({
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: opts.schema,
      REDIS_URL: TEST_REDIS_URL,
      WORKGATE_QUEUE_PREFIX: opts.prefix,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_POOL_SIZE: '10',
      // Test files run in parallel: no worker binds the default metrics port unless asked.
      WORKER_METRICS_PORT: '0',
      ...opts.env,
    },
    path: null,
    overrides: opts.overrides,
  });
}

/** The real gateway, in this process, listening on a free loopback port. */
export async function startGateway(config: AppConfig): Promise<TestGateway> {
  const logger = createLogger(config, 'gateway');
  const app = await createGateway(config, logger);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, config, close: () => app.close() };
}
