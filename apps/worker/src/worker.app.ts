import { type INestApplicationContext } from '@nestjs/common';
import { type AppConfig, type Logger } from '@app/config';
import { startWorkerApp } from '@app/sdk/worker';
import { type WorkerOptions, workerWorkflows } from './worker.module';

/** The worker process: this repository's workflows on the SDK's worker (libs/sdk). */
export async function createWorker(
  config: AppConfig,
  logger: Logger,
  workflows?: WorkerOptions['workflows'],
  senders?: WorkerOptions['senders'],
): Promise<INestApplicationContext> {
  return startWorkerApp({
    config,
    logger,
    workflows: workerWorkflows({ config, logger, workflows }),
    senders,
  });
}
