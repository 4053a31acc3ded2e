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
