import { Injectable, StandardSchemaValidationPipe } from '@nestjs/common';
import { ErrorCode, WorkgateError } from '@app/core';

/**
 * Validates the operator API's query, params and bodies against the zod schema each
 * parameter declares (`@Query({ schema })`), through Nest's own Standard Schema pipe;
 * this only turns its failures into our problem+json: 400 `validation_failed` with
 * one `{ path, message }` per issue.
 */
@Injectable()
export class ZodValidationPipe extends StandardSchemaValidationPipe {
  constructor() {
    super({
      transform: true,
      exceptionFactory: (issues) => {
        const errors = issues.map((issue) => ({
          path: (issue.path ?? [])
            .map((p) => String(typeof p === 'object' && p !== null ? p.key : p))
            .join('.'),
          message: issue.message,
        }));
        return new WorkgateError(
          ErrorCode.ValidationFailed,
          errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; '),
          { errors },
        );
      },
    });
  }
}
