import { type z } from 'zod';
import { parseDurationMs, type RetryPolicy } from '@app/core';
import {
  type BatchLimits,
  type DurabilityMode,
  type Duration,
  type WorkflowContext,
} from './workflow.types';

export interface WorkflowOptions<TSchema extends z.ZodType> {
  /** Validates the work's input before the first step; a mismatch fails the work without retry. */
  input?: TSchema;
  /** The work's retry policy (attempts, backoff, non-retryable error codes). */
  retry?: Partial<RetryPolicy>;
  /** Abort a single run (not counting waits) after this long; the run fails and retries. */
  runTimeout?: Duration;
  description?: string;
  /** When steps' results are committed: `step` (default) or `batched` (docs/workflows.md). */
  durability?: DurabilityMode;
  /** Limits of a `batched` run's uncommitted steps (also for `batched` steps of a `step` workflow). */
  batch?: BatchLimits;
}

/** The defaults of BatchLimits. */
export const BATCH_DEFAULTS = { maxSteps: 64, maxDelayMs: 200 } as const;

export interface WorkflowDefinition<TInput = unknown, TOutput = unknown> {
  readonly name: string;
  readonly fn: (ctx: WorkflowContext<TInput>, input: TInput) => Promise<TOutput>;
  readonly options: WorkflowOptions<z.ZodType>;
}

/**
 * Declares a workflow kind. The function is re-executed from the top on every run;
 * everything it does through `ctx` is recorded, so a re-run returns recorded results
 * and continues where the last run stopped.
 */
export function defineWorkflow<TInput = unknown, TOutput = unknown>(
  name: string,
  fn: (ctx: WorkflowContext<TInput>, input: TInput) => Promise<TOutput>,
  options: WorkflowOptions<z.ZodType<TInput>> = {},
): WorkflowDefinition<TInput, TOutput> {
  if (!/^[a-z][a-z0-9_.-]*$/i.test(name)) {
    throw new Error(
      `workflow name "${name}": use letters, digits, '.', '-' and '_' (starting with a letter)`,
    );
  }
  assertDurability(name, options);
  return { name, fn, options };
}

/** A mistyped durability or batch limit fails at definition, not at the first run. */
function assertDurability(name: string, options: WorkflowOptions<z.ZodType>): void {
  const { durability, batch } = options;
  if (durability !== undefined && durability !== 'step' && durability !== 'batched')
    throw new Error(`workflow "${name}": durability must be 'step' or 'batched'`);
  const max = batch?.maxSteps;
  if (max !== undefined && !(Number.isInteger(max) && max >= 1))
    throw new Error(`workflow "${name}": batch.maxSteps must be a whole number ≥ 1`);
  if (batch?.maxDelay !== undefined && parseDurationMs(batch.maxDelay) === undefined)
    throw new Error(`workflow "${name}": batch.maxDelay is not a duration`);
}

/**
 * Any workflow, whatever its input and output. `any` because a function parameter is
 * contravariant: a definition taking `{ n: number }` is not a definition taking
 * `unknown`, yet a registry must hold both.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkflowDefinition = WorkflowDefinition<any, any>;
