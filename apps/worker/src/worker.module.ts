import { type AppConfig, type Logger } from '@app/config';
import { type AnyWorkflowDefinition, loadWorkflowModules, workflowModulePaths } from '@app/engine';
import { type OutboundSender } from '@app/core';
import { configureAgent } from '@app/agent';
import { configuredKinds } from '@app/sdk/worker';
import { agentWorkflows, EXAMPLE_WORKFLOWS } from './workflows';

export { configuredKinds, outboundSenders } from '@app/sdk/worker';

export interface WorkerOptions {
  config: AppConfig;
  logger: Logger;
  /** Workflows to register instead of the examples and configured modules (tests). */
  workflows?: AnyWorkflowDefinition[];
  /** Extra outbound senders (tests register a recording one for a channel of their own). */
  senders?: OutboundSender[];
}

/** A route opening the model-backed `assistant` kind needs `agent:`; say so by name, not as an unknown kind. */
export function assertAgentConfigured(config: AppConfig): void {
  if (config.agent) return;
  const needing = configuredKinds(config).filter((k) => k.kind === 'assistant');
  if (needing.length)
    throw new Error(
      `${needing.map((n) => n.where).join(', ')} opens "assistant", which needs a model: the \`agent\` setting is missing (add agent.model and agent.apiKey, e.g. apiKey: \${OPENAI_API_KEY}; see docs/agent.md)`,
    );
}

/**
 * What this repository's worker runs: the examples, the assistant when a model is
 * configured, and the modules `workflows.modules` / WORKGATE_WORKFLOWS name.
 */
export function workerWorkflows(options: WorkerOptions): AnyWorkflowDefinition[] {
  const { paths, baseDir } = workflowModulePaths(options.config);
  assertAgentConfigured(options.config);
  // Before any workflow module loads: the assistants they define read it at run time.
  configureAgent(options.config.agent);
  return (
    options.workflows ?? [
      ...EXAMPLE_WORKFLOWS,
      ...agentWorkflows(options.config),
      ...loadWorkflowModules(paths, baseDir),
    ]
  );
}
