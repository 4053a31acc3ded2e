import { type FastifyInstance, type FastifyRequest } from 'fastify';
import { ErrorCode, WorkgateError } from '@app/core';
import { type BodyPolicies, isJsonContentType, parseJsonBody } from '@app/channels/core';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the body parser when the body was refused; BodyErrorGuard throws it. */
    bodyError?: WorkgateError;
    /** The exact bytes received, for routes whose policy keeps them. */
    rawBody?: Buffer;
  }
}

function tooLarge(limit: number) {
  return new WorkgateError(
    ErrorCode.BodyTooLarge,
    `The body exceeds this endpoint's limit of ${limit} bytes.`,
    { limit },
  );
}

/**
 * Replaces Fastify's body parsers with one that streams every body against the limit
 * its route's policy sets, stops accumulating at limit + 1 bytes (the rest is drained
 * and discarded), and keeps raw bytes where signatures need them. Refusals are not
 * thrown here (Fastify would render them outside Nest's exception filter); they are
 * attached to the request and thrown by BodyErrorGuard, so every error is problem+json.
 */
function routePath(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '';
}

export function registerBodyParser(
  fastify: FastifyInstance,
  policies: BodyPolicies,
  defaultLimit: number,
): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request: FastifyRequest, payload, done) => {
    const refuse = (err: WorkgateError) => {
      request.bodyError = err;
      payload.resume(); // drain without buffering; the connection closes after the answer
      done(null, undefined);
    };
    // No route: the 404 goes out before a byte of the body is read (nobody would use it).
    if (request.is404) {
      return refuse(
        new WorkgateError(
          ErrorCode.NotFound,
          `No route for ${request.method} ${routePath(request)}.`,
        ),
      );
    }
    const policy = policies.resolve(request) ?? { limit: defaultLimit, raw: false };
    if (policy.error) return refuse(policy.error);
    // A policy built from a bad lookup (a limit of undefined, NaN or Infinity) must never
    // mean "no limit": refuse rather than buffer whatever arrives.
    if (!Number.isSafeInteger(policy.limit) || policy.limit < 0) {
      return refuse(
        new WorkgateError(ErrorCode.Configuration, 'This endpoint has no valid body limit.'),
      );
    }
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > policy.limit) return refuse(tooLarge(policy.limit));
    if (!policy.raw && !isJsonContentType(request.headers['content-type'])) {
      return refuse(
        new WorkgateError(
          ErrorCode.UnsupportedMediaType,
          'This endpoint accepts application/json.',
        ),
      );
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    payload.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > policy.limit) {
        settled = true;
        chunks.length = 0;
        refuse(tooLarge(policy.limit));
        return;
      }
      chunks.push(chunk);
    });
    payload.on('error', (err) => {
      if (settled) return;
      settled = true;
      done(err, undefined);
    });
    payload.on('end', () => {
      if (settled) return;
      settled = true;
      const bytes = Buffer.concat(chunks, size);
      request.rawBody = bytes;
      if (policy.raw) return done(null, bytes);
      if (bytes.length === 0) return done(null, undefined);
      try {
        done(null, parseJsonBody(bytes));
      } catch (err) {
        request.bodyError =
          err instanceof WorkgateError
            ? err
            : new WorkgateError(
                ErrorCode.MalformedBody,
                `The body is not valid JSON: ${(err as Error).message}`,
              );
        done(null, undefined);
      }
    });
  });
}
