/** Exit codes scripts can rely on (documented in docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The command ran but the answer was a failure (a refused action, a 400, a refused migration). */
  failed: 1,
  /** The API answered 404: no such work, event, message or schedule. */
  notFound: 4,
  /** The API answered 409: the action is not allowed in the item's current state. */
  conflict: 9,
  /** Bad usage: unknown command or option, a malformed argument (sysexits EX_USAGE). */
  usage: 64,
  /** The gateway, PostgreSQL or Redis could not be reached, or answered 5xx (EX_UNAVAILABLE). */
  unavailable: 69,
  /** The API refused the token: 401 (missing, unknown, revoked) or 403 (role) (EX_NOPERM). */
  auth: 77,
  /** Configuration error: environment or config file (EX_CONFIG). */
  config: 78,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: printed without a stack, and the process exits with its code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
