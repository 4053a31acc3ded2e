import { Injectable } from '@nestjs/common';
import Ajv, { type ValidateFunction } from 'ajv';

/**
 * Validates an answer against a wait's `expects` (JSON Schema). Compiled schemas are
 * cached by their text: waits of one workflow share a handful of schemas.
 */
@Injectable()
export class AnswerValidator {
  private readonly ajv = new Ajv({ allErrors: false, strict: false });
  private readonly cache = new Map<string, ValidateFunction>();

  validate(schema: unknown, value: unknown): { ok: true } | { ok: false; error: string } {
    if (schema === null || schema === undefined) return { ok: true };
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      try {
        fn = this.ajv.compile(schema);
      } catch (err) {
        return { ok: false, error: `the wait's schema is invalid: ${(err as Error).message}` };
      }
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(key, fn);
    }
    if (fn(value)) return { ok: true };
    return { ok: false, error: this.ajv.errorsText(fn.errors) };
  }
}
