import { ErrorCode, WorkgateError } from '@app/core';

/** SQLSTATE classes and socket errors that mean "the database is not there right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006', // connection exceptions
  'P1001',
  'P1002',
  'P1017', // Prisma: can't reach / timed out / server closed the connection
]);
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /connection (?:is )?(?:closed|refused|ended)/i,
  /terminating connection/i,
  /Client has encountered a connection error/i,
  /the database system is (?:starting up|shutting down)/i,
  /timeout exceeded when trying to connect/i,
  /Can't reach database server/i,
];

/**
 * True when an error (or anything in its cause chain, where Prisma and the pg driver
 * wrap the socket error) says the database is unreachable rather than that the query
 * was wrong.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const candidate = e as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      originalCode?: unknown;
      kind?: unknown;
    };
    for (const code of [candidate.code, candidate.originalCode]) {
      if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    }
    if (candidate.kind === 'DatabaseNotReachable' || candidate.kind === 'ConnectionClosed')
      return true;
    if (
      typeof candidate.message === 'string' &&
      UNAVAILABLE_MESSAGES.some((re) => re.test(candidate.message as string))
    )
      return true;
    e = candidate.cause;
  }
  return false;
}

/** Rethrows an unreachable-database error as LedgerUnavailable (HTTP 503), anything else as is. */
export function translateDatabaseError(err: unknown): never {
  if (isDatabaseUnavailable(err)) {
    throw new WorkgateError(
      ErrorCode.LedgerUnavailable,
      'The ledger (PostgreSQL) is unreachable; nothing was recorded. Retry later.',
    );
  }
  throw err;
}
