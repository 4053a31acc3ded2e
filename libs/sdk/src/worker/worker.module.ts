import { type DynamicModule, Module } from '@nestjs/common';
import { type AppConfig, ConfigModule, type Logger } from '@app/config';
import { EngineModule, type AnyWorkflowDefinition, WorkflowRegistry } from '@app/engine';
import { createSlackSender, slackConfiguredKinds } from '@app/channels/slack';
import { createTelegramSender, telegramConfiguredKinds } from '@app/channels/telegram';
import { HttpSender } from '@app/channels/webhook';
import { type Clock, type OutboundSender } from '@app/core';
import { attachmentStoreFor, LedgerModule } from '@app/ledger';
import { configureAgentMedia } from '@app/agent';
import { agentMediaFor } from './agent-media';
import { MetricsModule } from '@app/observability';
import { AgentMemoryWiring } from './agent-memory.wiring';
import { LivenessWiring } from './liveness.wiring';

export interface WorkerModuleOptions {
  config: AppConfig;
  logger: Logger;
  /** Every workflow this worker runs. */
  workflows: AnyWorkflowDefinition[];
  /** Extra outbound senders (tests register a recording one for a channel of their own). */
  senders?: OutboundSender[];
  /** Replaces the system clock (the test kit's time-skipping clock). */
  clock?: Clock;
}

/** Every workflow kind a config file names must be registered, or the worker refuses to start. */
export function configuredKinds(config: AppConfig): Array<{ kind: string; where: string }> {
  return [
    ...Object.entries(config.webhooks.sources).flatMap(([name, source]) =>
      source.workflow
        ? [{ kind: source.workflow, where: `webhooks.sources.${name}.workflow` }]
        : [],
    ),
    ...slackConfiguredKinds(config),
    ...telegramConfiguredKinds(config),
    ...config.schedules.map((s, i) => ({
      kind: s.workflow,
      where: `schedules[${i}] (${s.name}).workflow`,
    })),
  ];
}

/** One sender per outbound channel this worker delivers to. */
export function outboundSenders(config: AppConfig, logger?: Logger): OutboundSender[] {
  // Files by attachment id are read from the configured store at delivery time.
  const attachments = attachmentStoreFor(config);
  return [
    HttpSender.fromConfig(config),
    createSlackSender(config, logger, attachments),
    createTelegramSender(config, logger, attachments),
  ];
}

/**
 * The worker process as a Nest module: the queues' processors, timers, the outbox, the
 * reconciler, metrics. `apps/worker` and the SDK's `createWorker` both build it.
 */
@Module({})
export class WorkerModule {
  static forRoot(options: WorkerModuleOptions): DynamicModule {
    // Before anything starts: duplicate names, or a route opening an unknown kind, stop the worker.
    new WorkflowRegistry()
      .register(...options.workflows)
      .assertKnown(configuredKinds(options.config));
    // Like configureAgent: assistants read it when they run (files in chat).
    configureAgentMedia(agentMediaFor(options.config));
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot({ config: options.config, logger: options.logger, name: 'worker' }),
        // Prometheus /metrics on worker.metricsPort (the worker has no HTTP server).
        MetricsModule.forRoot({ listen: true }),
        options.clock ? LedgerModule.withClock(options.clock) : LedgerModule,
        EngineModule.forWorker({
          workflows: options.workflows,
          senders: [...outboundSenders(options.config, options.logger), ...(options.senders ?? [])],
        }),
      ],
      providers: [AgentMemoryWiring, LivenessWiring],
    };
  }
}
