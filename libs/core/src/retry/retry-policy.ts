/** How a work (or a step inside it) is retried. Stored on each Work as JSON. */
export interface RetryPolicy {
  /** Total attempts including the first; 1 = never retry. */
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d]; "equal jitter" keeps a floor. */
  jitter: number;
  /** Error codes or names that stop retrying at once. */
  nonRetryableErrors: string[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maxIntervalMs: 5 * 60_000,
  jitter: 0.2,
  nonRetryableErrors: [],
};

/**
 * A field that is missing, explicitly undefined or NaN takes the default: NaN passes
 * every Math.max clamp and would make `attempt >= maxAttempts` never true.
 * `finite` also refuses ±Infinity where it can only poison the arithmetic.
 */
function numberOr(value: number | undefined, fallback: number, finite = false): number {
  if (typeof value !== 'number' || Number.isNaN(value)) return fallback;
  return finite && !Number.isFinite(value) ? fallback : value;
}

export function normalizeRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const d = DEFAULT_RETRY_POLICY;
  const p: Partial<RetryPolicy> = partial ?? {};
  // Clamped before maxIntervalMs is raised to it, so a negative initial cannot leave a negative cap.
  const initialIntervalMs = Math.max(0, numberOr(p.initialIntervalMs, d.initialIntervalMs, true));
  return {
    maxAttempts: Math.max(1, Math.floor(numberOr(p.maxAttempts, d.maxAttempts))),
    initialIntervalMs,
    backoffCoefficient: Math.max(1, numberOr(p.backoffCoefficient, d.backoffCoefficient, true)),
    maxIntervalMs: Math.max(initialIntervalMs, numberOr(p.maxIntervalMs, d.maxIntervalMs)),
    jitter: Math.min(1, Math.max(0, numberOr(p.jitter, d.jitter))),
    nonRetryableErrors: [...(p.nonRetryableErrors ?? d.nonRetryableErrors)],
  };
}

/** The delay before attempt `attempt + 1`, after `attempt` attempts failed (attempt ≥ 1). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  // 0 · coefficient^n is NaN once the power overflows to Infinity (attempt ≈ 1 000 at ×2).
  const exp =
    policy.initialIntervalMs === 0
      ? 0
      : policy.initialIntervalMs * policy.backoffCoefficient ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxIntervalMs, exp);
  const r = Math.min(1, Math.max(0, random));
  return Math.round(capped * (1 - policy.jitter * r));
}

export type RetryDecision =
  | { retry: true; delayMs: number; nextAttempt: number }
  | { retry: false; reason: 'exhausted' | 'non_retryable' };

/**
 * Decides what happens after attempt number `attempt` (1-based) failed with an error
 * whose code or name is `errorCode`. `random` is in [0, 1) and supplied by the caller.
 */
export function decideRetry(
  policy: RetryPolicy,
  attempt: number,
  errorCode: string | undefined,
  random: number,
): RetryDecision {
  if (errorCode !== undefined && policy.nonRetryableErrors.includes(errorCode)) {
    return { retry: false, reason: 'non_retryable' };
  }
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'exhausted' };
  return {
    retry: true,
    delayMs: backoffDelayMs(policy, attempt, random),
    nextAttempt: attempt + 1,
  };
}
