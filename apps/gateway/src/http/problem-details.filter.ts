import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
} from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { ErrorCode, WorkgateError } from '@app/core';
import { LOGGER, type Logger } from '@app/config';

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.SignatureInvalid]: 401,
  [ErrorCode.SignatureMissing]: 401,
  [ErrorCode.TimestampOutOfTolerance]: 401,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.MalformedBody]: 400,
  [ErrorCode.MissingIdempotencyKey]: 400,
  [ErrorCode.ValidationFailed]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.UnknownSource]: 404,
  [ErrorCode.InvalidTransition]: 409,
  [ErrorCode.IdempotencyKeyReused]: 409,
  [ErrorCode.StaleLease]: 409,
  [ErrorCode.BodyTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.LedgerUnavailable]: 503,
  [ErrorCode.QueueUnavailable]: 503,
  [ErrorCode.DeterminismViolation]: 500,
  [ErrorCode.Configuration]: 500,
};

const TITLES = new Map<number, string>([
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [408, 'Request Timeout'],
  [409, 'Conflict'],
  [413, 'Content Too Large'],
  [415, 'Unsupported Media Type'],
  [429, 'Too Many Requests'],
  [431, 'Request Header Fields Too Large'],
  [500, 'Internal Server Error'],
  [503, 'Service Unavailable'],
]);

/**
 * Stable `code`s for errors that carry only an HTTP status (Nest's HttpExceptions,
 * Fastify's own errors, the HTTP parser's): a client can branch on them as on ours.
 */
const STATUS_CODES = new Map<number, string>([
  [400, 'bad_request'],
  [401, ErrorCode.Unauthorized],
  [403, ErrorCode.Forbidden],
  [404, ErrorCode.NotFound],
  [405, 'method_not_allowed'],
  [408, 'request_timeout'],
  [413, ErrorCode.BodyTooLarge],
  [415, ErrorCode.UnsupportedMediaType],
  [429, 'too_many_requests'],
  [431, 'header_too_large'],
  [503, 'unavailable'],
]);

/** A problem for an error known only by its HTTP status. */
export function problemForStatus(status: number, detail: string, instance: string): ProblemDetails {
  const known = status >= 400 && status < 600;
  const s = known ? status : 500;
  return {
    type: 'about:blank',
    title: TITLES.get(s) ?? 'Error',
    status: s,
    detail,
    instance,
    code: STATUS_CODES.get(s) ?? (s >= 500 ? 'internal' : `http_${s}`),
  };
}

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  [extension: string]: unknown;
}

export function problemFor(err: unknown, instance: string): ProblemDetails {
  if (err instanceof WorkgateError) {
    const status = STATUS[err.code];
    return {
      type: `https://workgate.dev/problems/${err.code}`,
      title: TITLES.get(status) ?? 'Error',
      status,
      detail: err.message,
      instance,
      code: err.code,
      ...err.details,
    };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse();
    const message =
      typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const detail = Array.isArray(message)
      ? message.map(String).join('; ')
      : typeof message === 'string'
        ? message
        : err.message;
    return problemForStatus(status, detail, instance);
  }
  return problemForStatus(500, 'An unexpected error occurred; it has been logged.', instance);
}

/** One place that turns every error into RFC 9457 problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = problemFor(exception, request.url);
    if (problem.status >= 500) {
      this.logger.error(
        {
          err:
            exception instanceof Error
              ? { message: exception.message, stack: exception.stack }
              : exception,
          url: request.url,
        },
        problem.detail,
      );
    } else {
      this.logger.info(
        { url: request.url, status: problem.status, code: problem.code },
        problem.detail,
      );
    }
    if (problem.status === 503) void reply.header('retry-after', '5');
    // An unread remainder of a refused body makes the connection unusable for a next request.
    if (problem.status === 413 || request.bodyError) void reply.header('connection', 'close');
    void reply
      .status(problem.status)
      .header('content-type', 'application/problem+json')
      .send(problem);
  }
}
