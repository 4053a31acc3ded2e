import { redactSecrets } from '@app/core';

/**
 * Thrown inside a run to leave the workflow function at a wait (or a pause or cancel
 * at a step boundary). Not an error: the run stops and the ledger already says why.
 */
export class Suspend extends Error {
  constructor(readonly reason: 'waiting' | 'paused' | 'cancelled' | 'stopped') {
    super(`run suspended: ${reason}`);
    this.name = 'Suspend';
  }
}

/** The run no longer holds the work's lease; nothing more may be written. */
export class LeaseLostError extends Error {
  constructor(workId: string) {
    super(`lost the lease on work ${workId}; another worker owns it now`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The code asked for a different step than the one recorded at this position, or
 * (`requested` null) returned before reaching a recorded step.
 */
export class DeterminismError extends Error {
  readonly code = 'determinism_violation';
  constructor(
    readonly seq: number,
    readonly recorded: { name: string; type: string },
    readonly requested: { name: string; type: string } | null,
  ) {
    super(
      `determinism violation at step ${seq}: the record has ${recorded.type} "${recorded.name}", ` +
        (requested
          ? `the code asked for ${requested.type} "${requested.name}". `
          : 'the code returned without reaching it. ') +
        'Workflow code changed under a running work, or depends on something it did not record (time, randomness, I/O outside a step).',
    );
    this.name = 'DeterminismError';
  }
}

/** Throw from a step (or the workflow) to fail the work without retrying. */
export class NonRetryableError extends Error {
  readonly code: string;
  constructor(message: string, code = 'non_retryable') {
    super(message);
    this.name = 'NonRetryableError';
    this.code = code;
  }
}

/** A wait ran out of time with `onTimeout: 'fail'`. */
export class WaitTimeoutError extends Error {
  readonly code = 'wait_timed_out';
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** A child work ended FAILED or CANCELLED. */
export class ChildWorkError extends Error {
  readonly code = 'child_failed';
  constructor(
    readonly childWorkId: string,
    readonly state: string,
    readonly childError: unknown,
  ) {
    super(`child work ${childWorkId} ended ${state}`);
    this.name = 'ChildWorkError';
  }
}

/** A step took longer than its timeout. */
export class StepTimeoutError extends Error {
  readonly code = 'step_timeout';
  constructor(name: string, ms: number) {
    super(`step "${name}" did not finish within ${ms} ms`);
    this.name = 'StepTimeoutError';
  }
}

/** The JSON an error is recorded as (Step.error, Work.error). */
export function serializeError(err: unknown): {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  details?: unknown;
} {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: redactSecrets(err.message),
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.stack ? { stack: redactSecrets(err.stack.split('\n').slice(0, 12).join('\n')) } : {}),
    };
  }
  return {
    name: 'Error',
    message: redactSecrets(typeof err === 'string' ? err : describeThrown(err)),
  };
}

/** A thrown non-Error as text; never throws itself (a BigInt or a cycle is not JSON). */
function describeThrown(thrown: unknown): string {
  try {
    return JSON.stringify(thrown) ?? String(thrown);
  } catch {
    return String(thrown);
  }
}

/** A run's signal reason when the worker itself is stopping: the run gives its work back. */
export class WorkerStopping extends Error {
  constructor() {
    super('the worker is shutting down');
    this.name = 'WorkerStopping';
  }
}

/**
 * A run's signal reason when a message for this busy work asked to interrupt it (the
 * route's `interrupt` busy policy): the run stops and starts again from its last
 * inbox read.
 */
export class InterruptRequested extends Error {
  readonly code = 'interrupt_requested';
  constructor() {
    super('interrupted by a new message');
    this.name = 'InterruptRequested';
  }
}

/** A run's signal reason when an operator asked to cancel the work while a step runs. */
export class CancelRequested extends Error {
  readonly code = 'cancel_requested';
  constructor() {
    super('cancel requested');
    this.name = 'CancelRequested';
  }
}

/**
 * What a ModelClient throws, classified: `rate_limit` and `server` are retried inside
 * the ctx.llm step (after `retryAfterMs` when the provider said so), `context_length`
 * trims the request, `fatal` (bad key, bad request) fails the work without retry.
 */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly kind: 'rate_limit' | 'server' | 'context_length' | 'fatal',
    readonly status?: number,
    readonly retryAfterMs?: number,
    readonly code: string = `model_${kind}`,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}
