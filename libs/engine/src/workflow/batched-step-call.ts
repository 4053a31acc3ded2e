import { type RetryPolicy } from '@app/core';
import { batchedStepIdentity } from '../runner/batched-step.util';
import { type RunScope } from './run-scope';
import { executeStep, inlineRetry, pauseFor, rethrowIfRunEnded } from './step-call';
import { serializeError } from './workflow.errors';
import { type StepContext } from './workflow.types';

/**
 * ctx.step in `batched` durability, for a position the record does not hold: the body
 * runs at once, with no row written before it (so a crash leaves no trace of it and
 * the next run runs it again as attempt 1), and its result joins the run's pending
 * checkpoints, committed with the run's next write or when the batch reaches its
 * limits (CheckpointSystem.completeBatched). Its id and idempotency key derive from
 * the work, its step epoch and the position (batchedStepIdentity): the run that runs
 * it again after a crash passes the target the same key.
 */
export async function runBatchedStep<T>(
  scope: RunScope,
  seq: number,
  name: string,
  fn: (step: StepContext) => Promise<T> | T,
  options: { policy: RetryPolicy | undefined; timeoutMs: number | undefined },
): Promise<T> {
  const { store, clock, durability } = scope.deps;
  const identity = batchedStepIdentity(scope.work.id, scope.work.stepEpoch, seq);
  const step = (startedAt: Date, attempt: number) => ({
    stepId: identity.id,
    seq,
    name,
    output: '',
    fresh: {
      type: 'task' as const,
      idempotencyKey: identity.idempotencyKey,
      attempt,
      startedAt,
      finishedAt: new Date(clock.now()),
    },
  });
  for (let attempt = 1; ; attempt++) {
    const log = scope.log.child({ step: name, seq, stepAttempt: attempt, durability: 'batched' });
    const startedAt = new Date(clock.now());
    const started = performance.now();
    const observe = (outcome: 'completed' | 'failed') =>
      scope.deps.metrics?.stepFinished(
        { kind: scope.work.kind, name, outcome },
        (performance.now() - started) / 1000,
      );
    try {
      const value = await store.checkpoints.running(scope.run, async () => {
        const body = { ...identity, attempt };
        const result = await executeStep(scope, body, fn, name, options.timeoutMs);
        store.checkpoints.completeBatched(scope.run, step(startedAt, attempt), result, durability);
        return result;
      });
      observe('completed');
      log.debug({ ms: Math.round(performance.now() - started) }, 'step completed');
      return value;
    } catch (err) {
      rethrowIfRunEnded(scope.signal, err);
      const decision = inlineRetry(scope, options.policy, attempt, err);
      observe('failed');
      log.warn({ err: (err as Error).message, retry: decision?.retry ?? false }, 'step failed');
      if (decision?.retry) {
        await pauseFor(scope.signal, decision.delayMs);
        continue;
      }
      // Recorded (after the batch before it), so the work's retry runs it again on
      // its row as a `step` step would: same key, attempt + 1.
      await store.steps.failBatched(scope.run, step(startedAt, attempt), serializeError(err));
      throw err;
    }
  }
}
