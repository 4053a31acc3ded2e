/** Exit codes scripts can rely on (documented in the README). */
export const EXIT = {
  ok: 0,
  /** The command ran but the answer was a failure (a 4xx, a refused action). */
  failed: 1,
  /** Bad usage or configuration (like sysexits' EX_USAGE / EX_CONFIG). */
  usage: 64,
  config: 78,
  /** The gateway, PostgreSQL or Redis could not be reached, or answered 5xx. */
  unavailable: 69,
} as const;
