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
      // Not "nothing was recorded": the connection can drop between a commit and its
      // acknowledgement, and no client can tell the two apart. A retry is safe: events
      // are deduplicated and operator actions refuse what is already done (409).
      'The ledger (PostgreSQL) is unreachable, so the request may not have been recorded. Retry later: a repeated request is applied once.',
    );
  }
  throw err;
}

/**
 * SQLSTATE classes after which a batched statement's items are worth running again one
 * by one: the statement was refused as a whole (and, being one statement, wrote
 * nothing) for something that may be about one item only — a value the column cannot
 * hold (22: a NUL, a bad escape; 54: nesting too deep), a constraint one row breaks
 * (23) — or a lock conflict between two batches (40: deadlock, serialization), which a
 * statement touching one work's rows cannot have with another.
 */
const PER_ITEM_CLASSES = new Set(['22', '23', '40', '54']);

/**
 * True when a failed batch should be re-run item by item: PostgreSQL refused it (a
 * SQLSTATE, so it did not commit) for a reason that may be one item's. Anything else —
 * the database unreachable, a cancelled statement, a statement that is wrong for every
 * item, or an error raised in the client after the statement may have committed —
 * fails every item as it is.
 */
export function isPerItemFailure(err: unknown): boolean {
  if (isDatabaseUnavailable(err)) return false;
  const code = (err as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PER_ITEM_CLASSES.has(code.slice(0, 2))
  );
}

/** Runs a ledger read or write, an unreachable database rethrown as LedgerUnavailable (503). */
export async function unlessUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    translateDatabaseError(err);
  }
}
