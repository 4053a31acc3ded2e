/**
 * How a step's result is stored in `Step.output`: wrapped as `{ v: value }`, so that
 * `null` and `undefined` survive the JSON round trip and a replay returns exactly what
 * the step returned. `undefined` (JSON has no such value) is stored as `{}`, which
 * unwraps to `undefined` again; `null` as `{ v: null }`.
 *
 * Every writer of `Step.output` (the engine's run store, the ledger's ingest and wait
 * paths that complete a step on a work's behalf) uses this one definition, so the
 * reader in the engine never meets a shape it does not expect.
 */
export type StoredStepOutput = { v?: unknown };

/** `value` as it is stored in `Step.output`. */
export function wrapStepOutput(value: unknown): StoredStepOutput {
  return value === undefined ? {} : { v: value };
}

/** The value a step returned, from its stored `Step.output` (null/absent → undefined). */
export function unwrapStepOutput(stored: unknown): unknown {
  return (stored as StoredStepOutput | null | undefined)?.v;
}
