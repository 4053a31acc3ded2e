import 'reflect-metadata';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, type Logger, NestPinoLogger } from '@app/config';
import { WorkflowRegistry } from '@app/engine';
import { WorkerModule, type WorkerOptions } from './worker.module';

/** The worker process: no HTTP; the queues' processors, timers, the outbox, the reconciler. */
export async function createWorker(
  config: AppConfig,
  logger: Logger,
  workflows?: WorkerOptions['workflows'],
  senders?: WorkerOptions['senders'],
): Promise<INestApplicationContext> {
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
