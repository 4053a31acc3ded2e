import 'reflect-metadata';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestPinoLogger, redisTargetOf } from '@app/config';
import { checkRedisEvictionPolicy, WorkflowRegistry } from '@app/engine';
import { provisionButtonSecret } from '@app/ledger';
import { WorkerModule, type WorkerModuleOptions } from './worker.module';

/** The worker: no HTTP; the queues' processors, timers, the outbox, the reconciler. */
export async function startWorkerApp(
  options: WorkerModuleOptions,
): Promise<INestApplicationContext> {
  // Redis that may evict keys would lose jobs; refused unless explicitly allowed.
  await checkRedisEvictionPolicy(
    redisTargetOf(options.config),
    options.config.env.WORKGATE_ALLOW_REDIS_EVICTION,
    options.logger,
  );
  // Before anything reads the config: the worker signs the buttons gateways verify, with
  // the configured secret or the one generated once into the ledger.
  const config = await provisionButtonSecret(options.config);
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({ ...options, config }),
    {
      logger: new NestPinoLogger(options.logger.child({ component: 'nest' })),
      abortOnError: false,
    },
  );
  options.logger.info({ workflows: app.get(WorkflowRegistry).names() }, 'workflows registered');
  return app;
}
