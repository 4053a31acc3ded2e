/**
 * A step's recorded output as the ledger stores it: wrapped as `{ v }`, so a step that
 * returned `undefined` (stored as `{}`) is told apart from one that returned `null`
 * (`{ v: null }`), which jsonb alone could not do. Every writer of Step.output uses
 * wrapStepOutput, and every replay reads it back with unwrapStepOutput.
 */
export const wrapStepOutput = (value: unknown) => (value === undefined ? {} : { v: value });

/** The value a step returned, from its stored output (undefined for `{}`). */
export const unwrapStepOutput = (stored: unknown): unknown => (stored as { v?: unknown } | null)?.v;
