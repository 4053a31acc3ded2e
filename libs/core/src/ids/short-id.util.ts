/** How many hex characters a short work id keeps. */
export const SHORT_ID_LENGTH = 8;

/**
 * The part of a work id a person tells works apart by: its last 8 hex characters.
 * Work ids are UUIDv7, whose first 12 hex characters are the creation time in ms, so
 * the leading characters repeat down a list of works made in the same hour; the tail
 * is 32 random bits, unique enough among the rows a screen shows (two equal tails in a
 * page of 25 have odds of about 1 in 14 million). The full id stays in links, in the
 * API and on copy: a short id names a row, it is not a key.
 *
 * The dashboard (plain ES modules, no build step, so it cannot import this) keeps a
 * copy of this rule in `static/lib/format.js`; the dashboard e2e test checks that the
 * page shows what this function returns.
 */
export function shortWorkId(id: string): string {
  const hex = id.replace(/-/g, '');
  return hex.length > SHORT_ID_LENGTH ? hex.slice(-SHORT_ID_LENGTH) : hex;
}
