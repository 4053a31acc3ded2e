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
  [ErrorCode.StaleLease]: 409,
  [ErrorCode.BodyTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.LedgerUnavailable]: 503,
  [ErrorCode.QueueUnavailable]: 503,
  [ErrorCode.DeterminismViolation]: 500,
  [ErrorCode.Configuration]: 500,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

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
      title: TITLES[status] ?? 'Error',
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
    return {
      type: 'about:blank',
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      instance,
      code: `http_${status}`,
    };
  }
  return {
    type: 'about:blank',
    title: TITLES[500]!,
    status: 500,
    detail: 'An unexpected error occurred; it has been logged.',
    instance,
    code: 'internal',
  };
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
