import { type INestApplicationContext } from '@nestjs/common';
import { createWorker } from '../../apps/worker/src/worker.app';
import { type AppConfig, createLogger } from '../../libs/config/src';
import { type OutboundSender } from '../../libs/core/src';
import {
  EngineControl,
  ReconcilerService,
  type AnyWorkflowDefinition,
} from '../../libs/engine/src';

export interface TestWorker {
  app: INestApplicationContext;
  control: EngineControl;
  reconciler: ReconcilerService;
  close(): Promise<void>;
}

/** The real worker (processors, runner, timers, reconciler), in this process. */
export async function startWorker(
  config: AppConfig,
  workflows: AnyWorkflowDefinition[],
  senders?: OutboundSender[],
): Promise<TestWorker> {
  const app = await createWorker(config, createLogger(config, 'worker'), workflows, senders);
  return {
    app,
    control: app.get(EngineControl),
    reconciler: app.get(ReconcilerService),
    close: () => app.close(),
  };
}
