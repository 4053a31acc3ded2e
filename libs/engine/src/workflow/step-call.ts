import {
  decideRetry,
  normalizeRetryPolicy,
  type RetryDecision,
  type RetryPolicy,
  unwrapStepOutput,
} from '@app/core';
import { type StepRow } from '@app/ledger';
import { runBatchedStep } from './batched-step-call';
import { abortReason, durationMs, type RunScope } from './run-scope';
import {
  InterruptRequested,
  LeaseLostError,
  NonRetryableError,
  StepTimeoutError,
  Suspend,
  WorkerStopping,
  serializeError,
} from './workflow.errors';
import { type StepContext, type StepOptions } from './workflow.types';

/**
 * ctx.step: the recorded result on replay; otherwise the step's row started, its body
 * run (with its timeout, abort signal and heartbeat), retried inline by its own retry
 * policy, and its result checkpointed or its failure recorded.
 */
export async function runStep<T>(
  scope: RunScope,
  name: string,
  fn: (step: StepContext) => Promise<T> | T,
  options: StepOptions,
): Promise<T> {
  const { seq, recorded } = scope.next(name, 'task');
  if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
  const policy = options.retry
    ? normalizeRetryPolicy({ maxAttempts: 1, ...options.retry })
    : undefined;
  const timeoutMs =
    options.timeout !== undefined
      ? durationMs(options.timeout, `step "${name}" timeout`)
      : undefined;
  const durability = options.durability ?? scope.deps.durability.mode;
  if (durability !== 'step' && durability !== 'batched')
    throw new NonRetryableError(
      `step "${name}": durability must be 'step' or 'batched'`,
      'invalid_durability',
    );
  // A position the record holds (a step that failed or crashed while on the record)
  // runs again on its row, whatever the mode: same key, attempt + 1.
  if (durability === 'batched' && !recorded)
    return runBatchedStep(scope, seq, name, fn, { policy, timeoutMs });
  const { store } = scope.deps;
  let row = await store.steps.start(scope.run, seq, name, 'task', recorded);
  for (let inline = 1; ; inline++) {
    // `attempt` stays the work's attempt (the run logger's binding); the step's own is stepAttempt.
    const log = scope.log.child({ step: name, seq, stepAttempt: row.attempt });
    const started = performance.now();
    const observe = (outcome: 'completed' | 'failed') =>
      scope.deps.metrics?.stepFinished(
        { kind: scope.work.kind, name, outcome },
        (performance.now() - started) / 1000,
      );
    log.debug('step started');
    try {
      // Counted as running until its checkpoint is pending: a pause or cancel waits for it.
      const value = await store.checkpoints.running(scope.run, async () => {
        const result = await executeStep(scope, row, fn, name, timeoutMs);
        await store.checkpoints.completeStep(scope.run, row, result);
        return result;
      });
      observe('completed');
      log.debug({ ms: Math.round(performance.now() - started) }, 'step completed');
      return value;
    } catch (err) {
      rethrowIfRunEnded(scope.signal, err);
      const decision = inlineRetry(scope, policy, inline, err);
      observe('failed');
      log.warn({ err: (err as Error).message, retry: decision?.retry ?? false }, 'step failed');
      if (decision?.retry) {
        await pauseFor(scope.signal, decision.delayMs);
        row = await store.steps.start(scope.run, seq, name, 'task', row);
        continue;
      }
      await store.steps.fail(scope.run, row.id, serializeError(err));
      throw err;
    }
  }
}

/** Whether the step's own retry policy runs it again now, after `inline` attempts. */
export function inlineRetry(
  scope: RunScope,
  policy: RetryPolicy | undefined,
  inline: number,
  err: unknown,
): RetryDecision | undefined {
  // A step cut short by a cancel or the run's timeout is not retried inline: the
  // run is ending, and the spent signal would not abort the next attempt.
  if (!policy || err instanceof NonRetryableError || scope.signal.aborted) return undefined;
  const code = (err as { code?: unknown }).code;
  return decideRetry(
    policy,
    inline,
    typeof code === 'string' ? code : (err as Error).name,
    scope.deps.ids.random(),
  );
}

/** A step's body, with its own abort signal (the run's, or its timeout) and heartbeat. */
export async function executeStep<T>(
  scope: RunScope,
  row: Pick<StepRow, 'id' | 'idempotencyKey' | 'attempt'>,
  fn: (step: StepContext) => Promise<T> | T,
  name: string,
  timeoutMs: number | undefined,
): Promise<T> {
  const { signal } = scope;
  // Aborted while the step was being recorded: the listener below would never fire.
  if (signal.aborted) throw abortReason(signal);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const context: StepContext = {
      idempotencyKey: row.idempotencyKey,
      attempt: row.attempt,
      signal: controller.signal,
      heartbeat: async () => {
        if (!(await scope.deps.renewLease())) throw new LeaseLostError(scope.work.id);
        await scope.deps.store.steps.heartbeat(row.id);
      },
    };
    const work = Promise.resolve().then(() => fn(context));
    if (timeoutMs === undefined) return await work;
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new StepTimeoutError(name, timeoutMs);
          controller.abort(error);
          reject(error);
        }, timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A suspension, a lost lease, a shutdown or an interrupt ends the run, not the step:
 * rethrown as is, so no step failure is recorded and no inline retry starts.
 */
export function rethrowIfRunEnded(signal: AbortSignal, err: unknown): void {
  if (err instanceof Suspend || err instanceof LeaseLostError) throw err;
  const reason: unknown = signal.reason;
  if (
    signal.aborted &&
    (reason instanceof LeaseLostError ||
      reason instanceof WorkerStopping ||
      reason instanceof InterruptRequested)
  )
    throw reason;
}

/** Waits `ms` between inline attempts; the run's abort ends the wait with its reason. */
export function pauseFor(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}
