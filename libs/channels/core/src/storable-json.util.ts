import { ErrorCode, jsonbProblem, nestingProblem, WorkgateError } from '@app/core';

/**
 * JSON that JavaScript parses happily but PostgreSQL's jsonb refuses would otherwise
 * surface as a 500 at insert time: `\u0000` anywhere, unpaired UTF-16 surrogates
 * (`"\ud800"`), and nesting past the 128 levels a body may have (core's jsonbProblem,
 * the one check and depth convention the ledger and the engine use too). They are the
 * sender's mistake, so they get a precise 400 before anything is written.
 */
export function assertStorableJson(doc: unknown): void {
  const problem = jsonbProblem(doc);
  if (problem) throw malformed(problem);
}

/**
 * Only the nesting limit of assertStorableJson, without recursion: run it before any
 * recursive walk of a parsed body (JSON.parse takes 10 000 levels; a recursive walk
 * over them overflows the stack and would answer 500).
 */
export function assertJsonDepth(doc: unknown): void {
  const problem = nestingProblem(doc);
  if (problem) throw malformed(problem);
}

function malformed(problem: string): WorkgateError {
  return new WorkgateError(
    ErrorCode.MalformedBody,
    `The JSON body holds ${problem}, which cannot be stored.`,
  );
}
