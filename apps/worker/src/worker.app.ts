import 'reflect-metadata';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, type Logger, NestPinoLogger } from '@app/config';
import { checkRedisEvictionPolicy, WorkflowRegistry } from '@app/engine';
import { WorkerModule, type WorkerOptions } from './worker.module';

/** The worker process: no HTTP; the queues' processors, timers, the outbox, the reconciler. */
export async function createWorker(
  config: AppConfig,
  logger: Logger,
  workflows?: WorkerOptions['workflows'],
  senders?: WorkerOptions['senders'],
): Promise<INestApplicationContext> {
  await checkRedisEvictionPolicy(
    config.env.REDIS_URL,
    config.env.WORKGATE_ALLOW_REDIS_EVICTION,
    logger,
  );
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot({ config, logger, workflows, senders }),
    {
      logger: new NestPinoLogger(logger.child({ component: 'nest' })),
      abortOnError: false,
    },
  );
  logger.info({ workflows: app.get(WorkflowRegistry).names() }, 'workflows registered');
  return app;
}
