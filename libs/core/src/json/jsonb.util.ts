/**
 * What PostgreSQL's jsonb refuses although JavaScript writes it happily: `\u0000`
 * anywhere (jsonb, like text, cannot hold NUL: 22P05), an unpaired UTF-16 surrogate
 * (`"\ud800"`: JSON.stringify escapes it, jsonb refuses the escape), and nesting deeper
 * than a document may (a policy far below what exhausts the server's stack, 54001). One
 * check for every caller: the channels' edges (a sender's body), the ledger's ingest
 * and the engine's step outputs.
 *
 * Depth counts containers: an array or object is one level, a scalar adds none, so
 * 128 nested arrays pass and 129 are refused whatever the innermost one holds.
 */
export const MAX_JSONB_DEPTH = 128;

/** Where `doc` (a parsed JSON value) holds something jsonb refuses, as a sentence; null when nothing. */
export function jsonbProblem(doc: unknown, maxDepth = MAX_JSONB_DEPTH): string | null {
  // `depth`: the containers around a value. Iterative, so 10 000 levels cannot overflow.
  const stack: Array<{ value: unknown; depth: number; path: string }> = [
    { value: doc, depth: 0, path: '' },
  ];
  while (stack.length) {
    const { value, depth, path } = stack.pop()!;
    if (isContainer(value) && depth + 1 > maxDepth)
      return `nesting deeper than ${maxDepth} levels (at ${shown(path || '/')})`;
    if (typeof value === 'string') {
      const problem = stringProblem(value);
      if (problem) return `${problem} at ${shown(path || '/')}`;
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: `${path}/${i}` }));
    } else if (isContainer(value)) {
      for (const [k, v] of Object.entries(value)) {
        const problem = stringProblem(k);
        if (problem) return `${problem} in a key at ${shown(`${path}/${k}`)}`;
        stack.push({ value: v, depth: depth + 1, path: `${path}/${k}` });
      }
    }
  }
  return null;
}

/**
 * Only jsonbProblem's nesting limit (same counting), without paths: for a body that is
 * still to be repaired (Telegram's unpaired surrogates become U+FFFD) and must not be
 * walked recursively first (JSON.parse takes 10 000 levels; a recursive walk over them
 * overflows the stack and would answer 500).
 */
export function nestingProblem(doc: unknown, maxDepth = MAX_JSONB_DEPTH): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: doc, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (!isContainer(value)) continue;
    if (depth + 1 > maxDepth) return `nesting deeper than ${maxDepth} levels`;
    for (const v of Object.values(value)) stack.push({ value: v, depth: depth + 1 });
  }
  return null;
}

function isContainer(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/** The problem with one string jsonb (or a text column) would refuse, if any. */
export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'a NUL character (\\u0000)';
  if (!s.isWellFormed()) return 'an unpaired UTF-16 surrogate';
  return null;
}

/**
 * A JSON pointer as it can be shown in a message and stored: the path names the keys
 * that hold the bad characters, so it is itself escaped (JSON.stringify escapes NUL
 * and unpaired surrogates).
 */
function shown(path: string): string {
  return JSON.stringify(path);
}

export type JsonbText = { ok: true; text: string } | { ok: false; problem: string };

/**
 * `value` as the JSON text a jsonb parameter takes, or why it cannot be: not JSON at
 * all (a BigInt, a cycle, a throwing toJSON) or something jsonb refuses. The text is
 * scanned first (one pass, no allocation), and parsed back to name the place only when
 * the scan finds something that might be a problem.
 */
export function toJsonbText(value: unknown, maxDepth = MAX_JSONB_DEPTH): JsonbText {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    return { ok: false, problem: `is not JSON: ${(err as Error).message}` };
  }
  if (text === undefined) return { ok: true, text: 'null' };
  if (!mayBeRefused(text, maxDepth)) return { ok: true, text };
  const problem = jsonbProblem(JSON.parse(text), maxDepth);
  return problem ? { ok: false, problem: `holds ${problem}` } : { ok: true, text };
}

/**
 * JSON.stringify writes NUL as `\u0000` and an unpaired surrogate as `\udXXX`, and
 * nothing else as such an escape: a text without them, and without more openings than
 * the depth allows, is one jsonb takes.
 */
function mayBeRefused(text: string, maxDepth: number): boolean {
  let openings = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) openings++;
    else if (c === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (next === 0x75 /* u */) {
        const hex = text.slice(i + 2, i + 6).toLowerCase();
        if (hex === '0000' || /^d[89a-f]/.test(hex)) return true;
      }
      i++; // the escaped character, whatever it is (a `\\` is not the start of an escape)
    }
  }
  return openings > maxDepth;
}

/**
 * `doc` with every string made storable, for diagnostics (error messages and stacks)
 * that must be recorded whatever they hold: NUL and unpaired surrogates become U+FFFD.
 */
export function storableCopy(doc: unknown, depth = 0): unknown {
  if (typeof doc === 'string') return stringProblem(doc) ? replaceUnstorable(doc) : doc;
  if (doc === null || typeof doc !== 'object') return typeof doc === 'bigint' ? `${doc}` : doc;
  if (depth >= MAX_JSONB_DEPTH) return '[too deep]';
  if (Array.isArray(doc)) return doc.map((v) => storableCopy(v, depth + 1));
  return Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [replaceUnstorable(k), storableCopy(v, depth + 1)]),
  );
}

function replaceUnstorable(s: string): string {
  return s.toWellFormed().replace(/\u0000/g, '\ufffd');
}
