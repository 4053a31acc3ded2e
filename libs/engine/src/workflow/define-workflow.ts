import { type z } from 'zod';
import { type RetryPolicy } from '@app/core';
import { type Duration, type WorkflowContext } from './workflow.types';

export interface WorkflowOptions<TSchema extends z.ZodType> {
  /** Validates the work's input before the first step; a mismatch fails the work without retry. */
  input?: TSchema;
  /** The work's retry policy (attempts, backoff, non-retryable error codes). */
  retry?: Partial<RetryPolicy>;
  /** Abort a single run (not counting waits) after this long; the run fails and retries. */
  runTimeout?: Duration;
  description?: string;
}

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
  return { name, fn, options };
}

/**
 * Any workflow, whatever its input and output. `any` because a function parameter is
 * contravariant: a definition taking `{ n: number }` is not a definition taking
 * `unknown`, yet a registry must hold both.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWorkflowDefinition = WorkflowDefinition<any, any>;
