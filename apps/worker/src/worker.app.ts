import 'reflect-metadata';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, type Logger, NestPinoLogger } from '@app/config';
import { WorkflowRegistry } from '@app/engine';
import { provisionButtonSecret } from '@app/ledger';
import { WorkerModule, type WorkerOptions } from './worker.module';

/** The worker process: no HTTP; the queues' processors, timers, the outbox, the reconciler. */
export async function createWorker(
  configured: AppConfig,
  logger: Logger,
  workflows?: WorkerOptions['workflows'],
  senders?: WorkerOptions['senders'],
): Promise<INestApplicationContext> {
  // Before anything reads the config: the worker signs the buttons gateways verify.
  const config = await provisionButtonSecret(configured);
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
