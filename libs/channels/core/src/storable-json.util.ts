import { ErrorCode, WorkgateError } from '@app/core';

export const MAX_JSON_DEPTH = 128;

/**
 * JSON that JavaScript parses happily but PostgreSQL's jsonb refuses would otherwise
 * surface as a 500 at insert time: `\u0000` anywhere, unpaired UTF-16 surrogates
 * (`"\ud800"`), and nesting deep enough to exhaust the server's stack. They are the
 * sender's mistake, so they get a precise 400 before anything is written.
 */
export function assertStorableJson(doc: unknown): void {
  // `depth` counts the containers around a value; a container is one level more. The
  // limit is on containers (an empty `[]` at level 129 is as deep as one holding `1`).
  const stack: Array<{ value: unknown; depth: number; path: string }> = [
    { value: doc, depth: 0, path: '' },
  ];
  while (stack.length) {
    const { value, depth, path } = stack.pop()!;
    if (value !== null && typeof value === 'object' && depth + 1 > MAX_JSON_DEPTH) {
      throw new WorkgateError(
        ErrorCode.MalformedBody,
        `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`,
      );
    }
    if (typeof value === 'string') {
      checkString(value, path || '/');
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: `${path}/${i}` }));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        checkString(k, `${path}/${k} (a key)`);
        stack.push({ value: v, depth: depth + 1, path: `${path}/${k}` });
      }
    }
  }
}

/**
 * Only the nesting limit of assertStorableJson, without recursion: run it before any
 * recursive walk of a parsed body (JSON.parse takes 10 000 levels; a recursive walk
 * over them overflows the stack and would answer 500).
 */
export function assertJsonDepth(doc: unknown): void {
  const stack: Array<{ value: unknown; depth: number }> = [{ value: doc, depth: 0 }];
  while (stack.length) {
    const { value, depth } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > MAX_JSON_DEPTH) {
      throw new WorkgateError(
        ErrorCode.MalformedBody,
        `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels.`,
      );
    }
    for (const v of Object.values(value)) stack.push({ value: v, depth: depth + 1 });
  }
}

function checkString(s: string, path: string): void {
  if (s.includes('\u0000')) {
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      `The JSON body contains a NUL character (\\u0000) at ${path}, which cannot be stored.`,
    );
  }
  if (!s.isWellFormed()) {
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      `The JSON body contains an unpaired UTF-16 surrogate at ${path}.`,
    );
  }
}
