import { z } from 'zod';
import { durationMs } from './config-primitives';

/**
 * How the ledger's connections behave (see LedgerDatabase and docs/scaling.md,
 * "PgBouncer"). The URLs themselves are environment variables (DATABASE_URL,
 * DATABASE_MIGRATE_URL, DATABASE_READ_URL).
 */
export const databaseConfigSchema = z
  .strictObject({
    /** The longest a statement waits for a lock before failing (55P03) to be retried. */
    lockTimeout: durationMs
      .default(5_000)
      .describe('The longest a statement waits for a lock before failing (55P03) to be retried.'),
    /** PostgreSQL ends a session idle inside a transaction this long (a frozen process). */
    idleInTransactionTimeout: durationMs
      .default(10_000)
      .describe(
        'PostgreSQL ends a session idle inside a transaction this long (a frozen process).',
      ),
    /**
     * An idle pooled connection is closed after this long (0: never). Reopening one costs
     * PostgreSQL a backend, its catalog caches and the hot paths' prepared statements —
     * tens of milliseconds of CPU each — and a burst after a quiet spell opens many at
     * once: with 30 s, replies at 50/s after 35 s of quiet took 0.3 – 1 s for their first
     * second (docs/performance.md). Ten minutes, as HikariCP's idleTimeout.
     */
    poolIdleTimeout: durationMs
      .default(600_000)
      .describe(
        "An idle pooled connection is closed after this long (0: never); reopened ones cost PostgreSQL a backend, catalog caches and prepared statements, paid by the next burst's first requests.",
      ),
    /**
     * DATABASE_URL is a pooler in transaction mode (PgBouncer `pool_mode = transaction`):
     * no session state may be relied on, so nothing is sent as a startup option, the
     * timeouts are `SET LOCAL` in every transaction, and the session-only uses go to
     * DATABASE_MIGRATE_URL.
     */
    transactionPooling: z
      .boolean()
      .default(false)
      .describe(
        'DATABASE_URL is a pooler in transaction mode (PgBouncer pool_mode = transaction): no startup options, timeouts SET LOCAL per transaction, search_path from the role (checked at start), session-only work on DATABASE_MIGRATE_URL, which must then be set (docs/scaling.md).',
      ),
    /**
     * Named (server-side prepared) statements for the hot paths. A pooler in transaction
     * mode hands each transaction another server connection, where the name is unknown:
     * PgBouncer before 1.21 (or with max_prepared_statements = 0) needs them off.
     */
    preparedStatements: z
      .boolean()
      .optional()
      .describe(
        'Named prepared statements on the hot paths; default true, false when transactionPooling (turn on for PgBouncer ≥ 1.21 with max_prepared_statements > 0).',
      ),
  })
  .prefault({});
