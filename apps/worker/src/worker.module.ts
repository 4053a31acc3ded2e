import { type DynamicModule, Module } from '@nestjs/common';
import { type AppConfig, ConfigModule, type Logger } from '@app/config';
import {
  EngineModule,
  loadWorkflowModules,
  type AnyWorkflowDefinition,
  WorkflowRegistry,
  workflowModulePaths,
} from '@app/engine';
import { createSlackSender, slackConfiguredKinds } from '@app/channels/slack';
import { createTelegramSender, telegramConfiguredKinds } from '@app/channels/telegram';
import { HttpSender } from '@app/channels/webhook';
import { type OutboundSender } from '@app/core';
import { LedgerModule } from '@app/ledger';
import { MetricsModule } from '@app/observability';
import { configureAgent } from '@app/agent';
import { agentWorkflows, EXAMPLE_WORKFLOWS } from './workflows';

export interface WorkerOptions {
  config: AppConfig;
  logger: Logger;
  /** Workflows to register instead of the examples and configured modules (tests). */
  workflows?: AnyWorkflowDefinition[];
  /** Extra outbound senders (tests register a recording one for a channel of their own). */
  senders?: OutboundSender[];
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

/** A route opening the model-backed `assistant` kind needs `agent:`; say so by name, not as an unknown kind. */
export function assertAgentConfigured(config: AppConfig): void {
  if (config.agent) return;
  const needing = configuredKinds(config).filter((k) => k.kind === 'assistant');
  if (needing.length)
    throw new Error(
      `${needing.map((n) => n.where).join(', ')} opens "assistant", which needs a model: the \`agent\` setting is missing (add agent.model and agent.apiKey, e.g. apiKey: \${OPENAI_API_KEY}; see README "Agent")`,
    );
}

/** One sender per outbound channel this worker delivers to. */
export function outboundSenders(config: AppConfig, logger?: Logger): OutboundSender[] {
  return [
    HttpSender.fromConfig(config),
    createSlackSender(config, logger),
    createTelegramSender(config, logger),
  ];
}

@Module({})
export class WorkerModule {
  static forRoot(options: WorkerOptions): DynamicModule {
    const { paths, baseDir } = workflowModulePaths(options.config);
    assertAgentConfigured(options.config);
    // Before any workflow module loads: the assistants they define read it at run time.
    configureAgent(options.config.agent);
    const workflows = options.workflows ?? [
      ...EXAMPLE_WORKFLOWS,
      ...agentWorkflows(options.config),
      ...loadWorkflowModules(paths, baseDir),
    ];
    // Before anything starts: duplicate names, or a route opening an unknown kind, stop the worker.
    new WorkflowRegistry().register(...workflows).assertKnown(configuredKinds(options.config));
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot({ config: options.config, logger: options.logger, name: 'worker' }),
        // Prometheus /metrics on worker.metricsPort (the worker has no HTTP server).
        MetricsModule.forRoot({ listen: true }),
        LedgerModule,
        EngineModule.forWorker({
          workflows,
          senders: [...outboundSenders(options.config, options.logger), ...(options.senders ?? [])],
        }),
      ],
    };
  }
}
