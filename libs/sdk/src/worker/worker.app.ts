import 'reflect-metadata';
import { type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestPinoLogger } from '@app/config';
import { WorkflowRegistry } from '@app/engine';
import { WorkerModule, type WorkerModuleOptions } from './worker.module';

/** The worker: no HTTP; the queues' processors, timers, the outbox, the reconciler. */
export async function startWorkerApp(
  options: WorkerModuleOptions,
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(options), {
    logger: new NestPinoLogger(options.logger.child({ component: 'nest' })),
    abortOnError: false,
  });
  options.logger.info({ workflows: app.get(WorkflowRegistry).names() }, 'workflows registered');
  return app;
}
