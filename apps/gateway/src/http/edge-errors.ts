import { STATUS_CODES } from 'node:http';
import { type Socket } from 'node:net';
import {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type ProblemDetails, problemForStatus } from './problem-details.filter';

/**
 * Errors that never reach Nest's exception filter still answer problem+json with a
 * stable `code`: the HTTP parser's (431 header section too large, 400 malformed
 * request line), Fastify's before routing (a path with bad percent-encoding, an
 * invalid content type), and requests no route takes (404, or 405 when the path exists
 * under other methods) — answered from `onRequest`, before a byte of the body is read.
 */
export class EdgeErrors {
  /** Registered routes as [method, path segments]; `:param` matches one segment, `*` the rest. */
  private readonly routes: Array<{ method: string; segments: string[] }> = [];

  /** Must run before any route is registered (right after the adapter is made). */
  collectRoutes(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        this.routes.push({ method: method.toUpperCase(), segments: route.url.split('/') });
      }
    });
  }

  /** Answers unrouted requests in `onRequest`; renders Fastify's own errors as problems. */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
      if (!request.is404) return done();
      const path = pathOf(request);
      const allowed = this.allowedMethods(path);
      if (allowed.length) {
        void reply.header('allow', allowed.join(', '));
        return void sendProblem(
          reply,
          problemForStatus(405, `${request.method} is not allowed on ${path}.`, path),
        );
      }
      sendProblem(reply, problemForStatus(404, `No route for ${request.method} ${path}.`, path));
    });
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const status = error.statusCode ?? 500;
      const detail =
        status >= 500 ? 'An unexpected error occurred; it has been logged.' : error.message;
      if (status >= 500) request.log.error({ err: error }, 'unhandled error outside the router');
      sendProblem(reply, problemForStatus(status, detail, pathOf(request)));
    });
  }

  private allowedMethods(path: string): string[] {
    const segments = path.split('/');
    const methods = this.routes
      .filter((r) => r.method !== 'HEAD' && matches(r.segments, segments))
      .map((r) => r.method);
    return [...new Set(methods)].sort();
  }
}

/** Fastify's `frameworkErrors`: a path that does not decode, and the like (400). */
export function frameworkErrors(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode ?? 400;
  sendProblem(reply, problemForStatus(status, error.message, pathOf(request)));
}

/**
 * The HTTP server's `clientError`: the request could not be parsed at all, so there is
 * no request object; the answer is written to the socket and the connection closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  const detail =
    status === 431
      ? 'The request header section is larger than this server accepts.'
      : status === 408
        ? 'The request was not received in time.'
        : 'The request could not be parsed as HTTP/1.1.';
  const body = JSON.stringify(problemForStatus(status, detail, ''));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'content-type: application/problem+json\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function sendProblem(reply: FastifyReply, problem: ProblemDetails): void {
  // An unread body would be taken for the next request on a kept-alive connection.
  void reply
    .status(problem.status)
    .header('content-type', 'application/problem+json')
    .header('connection', 'close')
    .send(JSON.stringify(problem));
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '';
}

function matches(route: string[], path: string[]): boolean {
  for (let i = 0; i < route.length; i++) {
    const part = route[i]!;
    if (part === '*') return true;
    const given = path[i];
    if (given === undefined) return false;
    if (part.startsWith(':')) {
      if (!given) return false;
    } else if (part !== given) return false;
  }
  return route.length === path.length;
}
