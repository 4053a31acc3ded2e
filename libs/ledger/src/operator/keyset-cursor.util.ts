import { ErrorCode, WorkgateError } from '@app/core';

/** A position in a list ordered by `(at DESC, id DESC)`: the last row a page returned. */
export interface KeysetPosition {
  at: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Cursors are opaque to clients (base64url of the last row's sort key), so the order
 * can gain a column later without breaking anyone who stored one. Keyset rather than
 * OFFSET: rows inserted while a client pages through (always newer, so before the
 * first page) never shift the remaining pages, which means no duplicates and no gaps.
 */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at.toISOString(), position.id])).toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): KeysetPosition {
  const invalid = () =>
    new WorkgateError(ErrorCode.ValidationFailed, 'cursor: not a cursor this API returned', {
      errors: [{ path: 'cursor', message: 'not a cursor this API returned' }],
    });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !UUID.test(id)) throw invalid();
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw invalid();
  return { at: date, id };
}

/** The next page's cursor: present only when this page was full (there may be more). */
export function nextCursorOf<T>(
  rows: T[],
  limit: number,
  key: (row: T) => KeysetPosition,
): string | null {
  if (rows.length < limit) return null;
  return encodeCursor(key(rows[rows.length - 1]!));
}
