import fc from 'fast-check';
import {
  backoffDelayMs,
  decideRetry,
  DEFAULT_RETRY_POLICY,
  normalizeRetryPolicy,
  type RetryPolicy,
} from './retry-policy';

fc.configureGlobal({ seed: 0x7e7_7e7, numRuns: 1_000 });

const policy = (patch: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 10,
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maxIntervalMs: 60_000,
  jitter: 0,
  nonRetryableErrors: [],
  ...patch,
});

const arbPolicy = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 20 }),
    initialIntervalMs: fc.integer({ min: 0, max: 10_000 }),
    backoffCoefficient: fc.double({ min: 1, max: 5, noNaN: true }),
    maxIntervalMs: fc.integer({ min: 0, max: 3_600_000 }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    nonRetryableErrors: fc.constant<string[]>([]),
  })
  .map(normalizeRetryPolicy);
const arbRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe(backoffDelayMs.name, () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [6, 32_000],
    [7, 60_000],
    [30, 60_000],
  ])('after attempt %i waits %i ms (×2 each time, capped at 60 s)', (attempt, expected) => {
    expect(backoffDelayMs(policy(), attempt, 0)).toBe(expected);
  });

  it('grows by the coefficient until the cap', () => {
    fc.assert(
      fc.property(arbPolicy, fc.integer({ min: 1, max: 30 }), (p, attempt) => {
        const d = backoffDelayMs({ ...p, jitter: 0 }, attempt, 0);
        const next = backoffDelayMs({ ...p, jitter: 0 }, attempt + 1, 0);
        const uncapped = p.initialIntervalMs * p.backoffCoefficient ** attempt;
        if (uncapped <= p.maxIntervalMs) expect(next).toBe(Math.round(uncapped));
        expect(next).toBeGreaterThanOrEqual(d);
        expect(next).toBeLessThanOrEqual(p.maxIntervalMs);
      }),
    );
  });

  it('keeps the jittered delay within [d·(1−jitter), d]', () => {
    fc.assert(
      fc.property(arbPolicy, fc.integer({ min: 1, max: 30 }), arbRandom, (p, attempt, random) => {
        const d = Math.min(
          p.maxIntervalMs,
          p.initialIntervalMs * p.backoffCoefficient ** (attempt - 1),
        );
        const delay = backoffDelayMs(p, attempt, random);
        // The delay is rounded to whole ms, so the bounds are too.
        expect(delay).toBeGreaterThanOrEqual(Math.round(d * (1 - p.jitter)));
        expect(delay).toBeLessThanOrEqual(Math.round(d));
      }),
    );
  });

  it('draws from the whole jitter range and clamps a random outside [0, 1]', () => {
    const p = policy({ jitter: 0.5 });
    expect(backoffDelayMs(p, 1, 0)).toBe(1_000);
    expect(backoffDelayMs(p, 1, 1)).toBe(500);
    expect(backoffDelayMs(p, 1, -3)).toBe(1_000);
    expect(backoffDelayMs(p, 1, 7)).toBe(500);
  });
});

describe(decideRetry.name, () => {
  it('stops at once on a non-retryable code, whatever attempts are left', () => {
    const p = policy({ nonRetryableErrors: ['bad_input', 'TypeError'] });
    expect(decideRetry(p, 1, 'bad_input', 0)).toEqual({ retry: false, reason: 'non_retryable' });
    expect(decideRetry(p, 1, 'TypeError', 0)).toEqual({ retry: false, reason: 'non_retryable' });
    expect(decideRetry(p, 1, 'flaky', 0)).toMatchObject({ retry: true });
    expect(decideRetry(p, 1, undefined, 0)).toMatchObject({ retry: true });
  });

  it('honours maxAttempts: exactly maxAttempts − 1 retries, then exhausted', () => {
    fc.assert(
      fc.property(arbPolicy, arbRandom, (p, random) => {
        let attempt = 1;
        let retries = 0;
        for (;;) {
          const decision = decideRetry(p, attempt, 'flaky', random);
          if (!decision.retry) {
            expect(decision.reason).toBe('exhausted');
            break;
          }
          expect(decision.nextAttempt).toBe(attempt + 1);
          expect(decision.delayMs).toBe(backoffDelayMs(p, attempt, random));
          attempt = decision.nextAttempt;
          retries++;
        }
        expect(retries).toBe(p.maxAttempts - 1);
        expect(attempt).toBe(p.maxAttempts);
      }),
    );
  });

  it('retries at once, without NaN, under a zero interval however many attempts failed', () => {
    expect(backoffDelayMs(policy({ initialIntervalMs: 0 }), 2_000, 0.5)).toBe(0);
  });

  it('never retries under maxAttempts 1', () => {
    expect(decideRetry(policy({ maxAttempts: 1 }), 1, undefined, 0)).toEqual({
      retry: false,
      reason: 'exhausted',
    });
  });
});

describe(normalizeRetryPolicy.name, () => {
  it('fills in the defaults', () => {
    expect(normalizeRetryPolicy(undefined)).toEqual(DEFAULT_RETRY_POLICY);
    expect(normalizeRetryPolicy({ maxAttempts: 2 })).toEqual({
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: 2,
    });
  });

  it('clamps each field into its range', () => {
    expect(
      normalizeRetryPolicy({
        maxAttempts: 0,
        initialIntervalMs: -5,
        backoffCoefficient: 0.5,
        maxIntervalMs: -10,
        jitter: 3,
      }),
    ).toEqual({
      maxAttempts: 1,
      initialIntervalMs: 0,
      backoffCoefficient: 1,
      maxIntervalMs: 0,
      jitter: 1,
      nonRetryableErrors: [],
    });
    expect(normalizeRetryPolicy({ maxAttempts: 3.7, jitter: -1 })).toMatchObject({
      maxAttempts: 3,
      jitter: 0,
    });
  });

  it('raises maxIntervalMs to initialIntervalMs', () => {
    expect(normalizeRetryPolicy({ initialIntervalMs: 5_000, maxIntervalMs: 1_000 })).toMatchObject({
      maxIntervalMs: 5_000,
    });
  });

  it('takes the default for a field that is NaN or explicitly undefined', () => {
    const nan = {
      maxAttempts: NaN,
      initialIntervalMs: NaN,
      backoffCoefficient: NaN,
      maxIntervalMs: NaN,
      jitter: NaN,
    };
    expect(normalizeRetryPolicy(nan)).toEqual(DEFAULT_RETRY_POLICY);
    const undef = {
      maxAttempts: undefined,
      initialIntervalMs: undefined,
      nonRetryableErrors: undefined,
    };
    expect(normalizeRetryPolicy(undef)).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('keeps an unlimited maxAttempts and maxIntervalMs, but not an infinite interval or coefficient', () => {
    expect(
      normalizeRetryPolicy({
        maxAttempts: Infinity,
        maxIntervalMs: Infinity,
        initialIntervalMs: Infinity,
        backoffCoefficient: Infinity,
      }),
    ).toMatchObject({
      maxAttempts: Infinity,
      maxIntervalMs: Infinity,
      initialIntervalMs: DEFAULT_RETRY_POLICY.initialIntervalMs,
      backoffCoefficient: DEFAULT_RETRY_POLICY.backoffCoefficient,
    });
  });

  it('copies the non-retryable list', () => {
    const list = ['bad_input'];
    const p = normalizeRetryPolicy({ nonRetryableErrors: list });
    list.push('later');
    expect(p.nonRetryableErrors).toEqual(['bad_input']);
  });

  it('always yields a policy whose delays are never NaN, never negative, and capped', () => {
    const anyNumber = fc.oneof(fc.double(), fc.integer({ min: -1_000, max: 1_000 }));
    fc.assert(
      fc.property(
        fc.record(
          {
            maxAttempts: anyNumber,
            initialIntervalMs: anyNumber,
            backoffCoefficient: anyNumber,
            maxIntervalMs: anyNumber,
            jitter: anyNumber,
          },
          { requiredKeys: [] },
        ),
        arbRandom,
        fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 5_000 })),
        (partial, random, attempt) => {
          const p = normalizeRetryPolicy(partial);
          expect(p.maxAttempts).toBeGreaterThanOrEqual(1);
          expect(Number.isInteger(p.maxAttempts) || p.maxAttempts === Infinity).toBe(true);
          expect(p.initialIntervalMs).toBeGreaterThanOrEqual(0);
          expect(p.backoffCoefficient).toBeGreaterThanOrEqual(1);
          expect(p.maxIntervalMs).toBeGreaterThanOrEqual(p.initialIntervalMs);
          expect(p.jitter).toBeGreaterThanOrEqual(0);
          expect(p.jitter).toBeLessThanOrEqual(1);
          const delay = backoffDelayMs(p, attempt, random);
          expect(delay).toBeGreaterThanOrEqual(0);
          // Rounded to whole ms, so a fractional cap can be passed by half a millisecond.
          expect(delay).toBeLessThanOrEqual(Math.round(p.maxIntervalMs));
          expect(Number.isNaN(delay)).toBe(false);
        },
      ),
    );
  });
});
