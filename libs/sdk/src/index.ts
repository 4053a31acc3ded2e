/*
 * @workgate/sdk: what a user's own project needs to write workflows and run a worker.
 * Everything here is the engine's public API, re-exported; the package build
 * (scripts/build-sdk.mjs) compiles it with the monorepo's aliases rewritten to
 * relative paths, so nothing in the published package needs `@app/*`.
 */
export {
  defineWorkflow,
  type AnyWorkflowDefinition,
  type WorkflowDefinition,
  type WorkflowOptions,
} from '@app/engine';
export type {
  Address,
  AskOptions,
  BatchLimits,
  DurabilityMode,
  Duration,
  EscalationStep,
  InboxEvent,
  JsonSchema,
  LlmOptions,
  OutboundMessageBody,
  StepContext,
  StepOptions,
  WaitForOptions,
  WorkflowContext,
  WorkOrigin,
} from '@app/engine';
export {
  ChildWorkError,
  DeterminismError,
  NonRetryableError,
  StepTimeoutError,
  WaitTimeoutError,
} from '@app/engine';
export { defineTool, registerTool, type AgentTool, type ToolContext } from '@app/agent';
export { type RetryPolicy } from '@app/core';
export { createWorker, migrate, type Worker, type WorkerSettings } from './create-worker';
