/**
 * A simulated workflow as DATA: one generic workflow (`sim.program`, in
 * test/support/workflows/sim.workflows.ts) interprets it, the generator produces it
 * from the seed, and the checker folds it to the output a correct run must return.
 * Shared by all three so "what the workflow did" and "what it should have done" can
 * never drift apart.
 */

export type Op =
  /** One step; `flaky` throws on its first attempt and succeeds on the in-run retry. */
  | { t: 'step'; name: string; ms: number; flaky?: boolean }
  /** 2–8 steps side by side (Promise.all of ctx.step). */
  | { t: 'par'; steps: Array<{ name: string; ms: number }> }
  | { t: 'sleep'; ms: number }
  /** ctx.waitFor on correlation key `replies:<key>`; answered by signed webhooks. */
  | { t: 'wait'; key: string }
  /** ctx.ask answered by the operator API's signal, with `answer` (its `expects` is that const). */
  | { t: 'ask'; answer: string }
  | { t: 'send'; text: string }
  /** A child work running `ops` (steps and sleeps only: nobody outside knows its id). */
  | { t: 'child'; ops: Op[] }
  | { t: 'inbox' }
  /** A step whose output PostgreSQL's jsonb refuses (`\u0000`) or that is not valid UTF-16. */
  | { t: 'bad'; name: string; kind: 'nul' | 'surrogate' };

export interface Program {
  /** The simulator's own name for the work (`r<run>.p<n>`, children `…c<i>`). */
  id: string;
  /** The counter server every step reports its side effect to. */
  url: string;
  ops: Op[];
}

export interface ProgramOutput {
  acc: string;
}

/** FNV-1a (32 bit): a deterministic, dependency-free digest for the fold. */
export function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** What step `name` returns when the results before it folded to `prev`. */
export const stepValue = (name: string, prev: string): string => digest(`${prev}|${name}`);

export const foldPar = (prev: string, values: string[]): string =>
  digest(`${prev}|par:${values.join(',')}`);
export const foldWait = (prev: string, value: string): string => digest(`${prev}|w:${value}`);
export const foldAsk = (prev: string, value: string): string => digest(`${prev}|a:${value}`);
export const foldChild = (prev: string, child: string): string => digest(`${prev}|c:${child}`);
/** A bad step's value is left out: a fixed engine may store it escaped or fail the work. */
export const foldBad = (prev: string, name: string): string => digest(`${prev}|b:${name}`);

/** The value a reply for wait `key` carries (all deliveries of one key carry the same). */
export const replyValue = (key: string): string => `v-${digest(key)}`;

export const childId = (parent: string, index: number): string => `${parent}c${index}`;

/**
 * The output a correct run returns, and for every step the `prev` it must have been
 * handed (what "every later step saw the recorded results of the earlier ones" means).
 */
export function expectedFold(program: Program): {
  acc: string;
  /** `${programId}/${stepName}` → the fold the step must have been handed. */
  prevOf: Map<string, string>;
  /** Program id (children too) → the output it must return. */
  accOf: Map<string, string>;
} {
  const prevOf = new Map<string, string>();
  const accOf = new Map<string, string>();
  const walk = (id: string, ops: Op[]): string => {
    let acc = '';
    ops.forEach((op, i) => {
      switch (op.t) {
        case 'step':
          prevOf.set(`${id}/${op.name}`, acc);
          acc = stepValue(op.name, acc);
          break;
        case 'par': {
          const prev = acc;
          for (const s of op.steps) prevOf.set(`${id}/${s.name}`, prev);
          acc = foldPar(
            prev,
            op.steps.map((s) => stepValue(s.name, prev)),
          );
          break;
        }
        case 'wait':
          acc = foldWait(acc, replyValue(op.key));
          break;
        case 'ask':
          acc = foldAsk(acc, op.answer);
          break;
        case 'child':
          acc = foldChild(acc, walk(childId(id, i), op.ops));
          break;
        case 'bad':
          prevOf.set(`${id}/${op.name}`, acc);
          acc = foldBad(acc, op.name);
          break;
        case 'sleep':
        case 'send':
        case 'inbox':
          break;
      }
    });
    accOf.set(id, acc);
    return acc;
  };
  return { acc: walk(program.id, program.ops), prevOf, accOf };
}

/** A program (or one of its children) has a step whose output the database refuses. */
export function hasBadStep(ops: Op[]): boolean {
  return ops.some((op) => op.t === 'bad' || (op.t === 'child' && hasBadStep(op.ops)));
}

/** The simulated workflow's kind in each durability mode (same interpreter, see sim.workflows.ts). */
export const SIM_KINDS = { step: 'sim.program', batched: 'sim.program.batched' } as const;

/**
 * In a `batched` program, about one step in eight is overridden back to `step`
 * (`ctx.step(…, { durability: 'step' })`), chosen from its name so the choice is the
 * same in every run of the seed and draws nothing from it: mixed batches are played too.
 */
export const overriddenToStep = (name: string): boolean => /[01]$/.test(digest(`d|${name}`));
