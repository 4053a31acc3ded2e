import { createHash } from 'node:crypto';
import { unwrapStepOutput } from '@app/core';
import { type StepRow } from '@app/ledger';
import { durationMs, recordable, type RunScope } from './run-scope';
import { executeStep, pauseFor, rethrowIfRunEnded } from './step-call';
import { ModelError, NonRetryableError, serializeError } from './workflow.errors';
import { type LlmOptions, type LlmRequest, type LlmResponse } from './workflow.types';

/** What a failed model call leads to: a shorter request, a retry after a delay, or the step's failure. */
type ModelErrorPlan =
  | { next: 'trim'; request: LlmRequest; dropped: number }
  | { next: 'retry'; delayMs: number }
  | { next: 'fail' };

/**
 * ctx.llm: the recorded response on replay — the model is never called twice for one
 * step; otherwise the model called with the step's timeout, the request trimmed when
 * it no longer fits the context, rate limits and server errors retried with backoff,
 * and the response recorded with its ModelCall row.
 */
export async function llmCall(
  scope: RunScope,
  request: LlmRequest,
  options: LlmOptions,
): Promise<LlmResponse> {
  const name = options.name ?? 'llm';
  const { seq, recorded } = scope.next(name, 'llm');
  if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as LlmResponse;
  const timeoutMs = durationMs(options.timeout ?? '2m', `llm "${name}" timeout`);
  const { store } = scope.deps;
  let row = await store.steps.start(scope.run, seq, name, 'llm', recorded);
  let req = request;
  let trimmed = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await callModel(scope, row, { name, req, trimmed, timeoutMs }, options);
    } catch (err) {
      rethrowIfRunEnded(scope.signal, err);
      const log = scope.log.child({ step: name, seq, modelAttempt: attempt });
      const plan = planAfterModelError(scope, err, req, options, attempt);
      if (plan.next === 'trim') {
        trimmed += plan.dropped;
        log.warn({ trimmed }, 'context too long; dropped the oldest turns');
        req = plan.request;
        continue;
      }
      if (plan.next === 'retry') {
        const { message, status } = err as ModelError;
        log.warn({ err: message, status, delayMs: plan.delayMs }, 'model call failed; retrying');
        await pauseFor(scope.signal, plan.delayMs);
        row = await store.steps.start(scope.run, seq, name, 'llm', row);
        continue;
      }
      log.warn({ err: (err as Error).message }, 'model call failed');
      await store.steps.fail(scope.run, row.id, serializeError(err));
      if (err instanceof ModelError && (err.kind === 'fatal' || err.kind === 'context_length'))
        throw new NonRetryableError(err.message, err.code);
      throw err;
    }
  }
}

/** One call of the model, and its response recorded (the step's checkpoint) with its cost. */
async function callModel(
  scope: RunScope,
  row: StepRow,
  call: { name: string; req: LlmRequest; trimmed: number; timeoutMs: number },
  options: LlmOptions,
): Promise<LlmResponse> {
  const { name, req, trimmed, timeoutMs } = call;
  const started = performance.now();
  const { progress } = options;
  progress?.started();
  const completion = await executeStep(
    scope,
    row,
    ({ signal }) =>
      options.client.complete(req, {
        signal,
        ...(progress?.text ? { onText: (soFar: string) => progress.text?.(soFar) } : {}),
      }),
    name,
    timeoutMs,
  );
  const latencyMs = Math.round(performance.now() - started);
  const response: LlmResponse = {
    ...completion,
    costUsd: options.client.cost(completion.model, completion.usage),
    latencyMs,
    trimmed,
  };
  recordable(`llm step ${JSON.stringify(name)}: the model's response`, response);
  await scope.deps.store.recorded.completeLlmStep(scope.run, row, response, {
    provider: options.client.provider,
    promptHash: promptFingerprint(req),
  });
  scope.deps.metrics?.stepFinished(
    { kind: scope.work.kind, name, outcome: 'completed' },
    latencyMs / 1000,
  );
  return response;
}

function planAfterModelError(
  scope: RunScope,
  err: unknown,
  req: LlmRequest,
  options: LlmOptions,
  attempt: number,
): ModelErrorPlan {
  if (!(err instanceof ModelError) || scope.signal.aborted) return { next: 'fail' };
  if (err.kind === 'context_length' && options.trim) {
    const shorter = options.trim(req);
    if (shorter && shorter.messages.length < req.messages.length)
      return {
        next: 'trim',
        request: shorter,
        dropped: req.messages.length - shorter.messages.length,
      };
  }
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  if ((err.kind === 'rate_limit' || err.kind === 'server') && attempt < maxAttempts) {
    // The provider's retry-after wins over our backoff (capped: a day-long ask is a budget matter).
    const backoff =
      Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + scope.deps.ids.random() / 2);
    return { next: 'retry', delayMs: Math.min(120_000, err.retryAfterMs ?? backoff) };
  }
  return { next: 'fail' };
}

/** Sorted keys at every level, so equal requests hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The prompt fingerprint a ModelCall records: sha256 of the canonical JSON request. */
export function promptFingerprint(request: LlmRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
