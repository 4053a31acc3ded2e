import { assistantWorkflow } from '@app/agent';
import { type AppConfig } from '@app/config';
import { type AnyWorkflowDefinition } from '@app/engine';
import { chatApprovalWorkflow } from './chat-approval.workflow';
import { demoWorkflow } from './demo.workflow';
import { nightlyReportWorkflow } from './nightly-report.workflow';

/** The example workflows every worker registers (the README and the tests use them). */
export const EXAMPLE_WORKFLOWS: AnyWorkflowDefinition[] = [
  demoWorkflow,
  nightlyReportWorkflow,
  chatApprovalWorkflow,
];

/**
 * The model-backed workflows, registered only when `agent:` is configured: without a
 * model the Quick start still works, and a route naming `assistant` is refused at start
 * (WorkerModule) with the missing setting named.
 */
export function agentWorkflows(config: Pick<AppConfig, 'agent'>): AnyWorkflowDefinition[] {
  return config.agent ? [assistantWorkflow] : [];
}
