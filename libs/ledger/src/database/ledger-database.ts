import { AsyncLocalStorage } from 'node:async_hooks';
import { Pool, type PoolClient } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { UnnamedStatementClient } from './unnamed-statement-client';

/** A pool or one of its clients: where a single statement needs no transaction. */
export type Queryable = Pick<PoolClient, 'query'>;

export interface LedgerDatabaseOptions {
  connectionString: string;
  schema: string;
  poolSize: number;
  /** Called for errors on pooled connections, idle or checked out (e.g. PostgreSQL restarting). */
  onPoolError?: (err: Error) => void;
  /** Shown in pg_stat_activity (which replica a backend serves). */
  applicationName?: string;
  /**
   * No statement waits longer than this for a lock (`lock_timeout`): a holder that is
   * frozen or dead must not stall every writer behind it; the waiter fails with 55P03
   * and its caller retries (a job, the next reconcile pass, a channel's redelivery).
   */
  lockTimeoutMs?: number;
  /**
   * PostgreSQL ends a session idle inside a transaction for longer than this
   * (`idle_in_transaction_session_timeout`), which frees the locks a frozen process
   * (SIGSTOP, a long GC pause, a partition) holds; no transaction of ours is idle for
   * more than a round trip, so only a frozen one meets it.
   */
  idleInTransactionTimeoutMs?: number;
  /** An idle connection is closed after this long; 0 never (config `database.poolIdleTimeout`). */
  poolIdleTimeoutMs?: number;
  /**
   * The URL is a pooler in transaction mode (PgBouncer): startup options would be
   * refused (PgBouncer 1.18) or lost between transactions, so none are sent; the two
   * timeouts are `SET LOCAL` at each BEGIN, and search_path must come from the role
   * (`checkSessionDefaults` refuses to start otherwise).
   */
  transactionPooling?: boolean;
  /** Named statements stay named (default); false sends every one unnamed. */
  preparedStatements?: boolean;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;
export const DEFAULT_POOL_IDLE_TIMEOUT_MS = 600_000;

/**
 * One pg pool shared by Prisma (through @prisma/adapter-pg) and the few hot paths
 * that run hand-written SQL, so both see the same schema and the same connections.
 */
export class LedgerDatabase {
  readonly pool: Pool;
  readonly prisma: PrismaClient;
  readonly schema: string;

  private readonly beginStatement: string;

  constructor(private readonly options: LedgerDatabaseOptions) {
    this.schema = options.schema;
    const timeouts = {
      lock_timeout: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
      idle_in_transaction_session_timeout:
        options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    };
    const settings = Object.entries(timeouts);
    // Behind a transaction pooler the settings ride on each BEGIN (one round trip with
    // it, as one simple-protocol string): a session SET would stick to whichever server
    // connection ran it, for other clients, and be missing on the next one.
    this.beginStatement = options.transactionPooling
      ? ['BEGIN', ...settings.map(([k, v]) => `SET LOCAL ${k} = ${v}`)].join('; ')
      : 'BEGIN';
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      ...(options.preparedStatements === false ? { Client: UnnamedStatementClient } : {}),
      // search_path makes raw SQL resolve unqualified table names in the configured schema.
      ...(options.transactionPooling
        ? {}
        : {
            options: [
              `-c search_path="${options.schema}"`,
              ...settings.map(([k, v]) => `-c ${k}=${v}`),
            ].join(' '),
          }),
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: options.poolIdleTimeoutMs ?? DEFAULT_POOL_IDLE_TIMEOUT_MS,
    });
    const onError = (err: Error) => options.onPoolError?.(err);
    // An idle connection dropped by a restarting server emits 'error' on the pool.
    this.pool.on('error', onError);
    // A connection checked out of the pool (a transaction, Prisma's adapter, a batched
    // statement) emits 'error' on its own Client when the server goes away (ECONNRESET,
    // "Connection terminated unexpectedly", 57P01 on a restart, 25P03 when the server
    // ended a frozen session): pg-pool only listens while the client is idle, and an
    // unhandled 'error' event kills the process. The query in flight rejects on its own,
    // its caller retries, and the pool replaces the broken connection.
    this.pool.on('connect', (client) => client.on('error', onError));
    this.prisma = new PrismaClient({
      adapter: new PrismaPg(this.pool, { schema: options.schema }),
    });
  }

  /**
   * Runs `fn` with every transaction it opens waiting at most `ms` for a lock (instead of
   * the pool's lock_timeout). For work that goes through many rows one after another
   * and retries on its own (a reconcile pass): one row a frozen process keeps locked
   * must cost it `ms`, not the full lock_timeout for each such row while everything
   * after it in the pass — the lease sweep of the next pass, other timers — waits.
   */
  withLockWait<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    return this.lockWait.run(Math.max(1, Math.round(ms)), fn);
  }

  private readonly lockWait = new AsyncLocalStorage<number>();

  /** Runs `fn` in one transaction on a dedicated connection; rolls back on any error. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    const lockWait = this.lockWait.getStore();
    try {
      // One simple-protocol string, so the shorter wait costs no round trip.
      await client.query(
        lockWait === undefined
          ? this.beginStatement
          : `${this.beginStatement}; SET LOCAL lock_timeout = ${lockWait}`,
      );
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Behind a transaction pooler the schema comes from the role's or the database's
   * search_path (`ALTER ROLE … SET search_path`), not from us: raw SQL that resolved
   * unqualified names elsewhere would read and write another schema's tables. Refuses
   * to start then; warns when statements outside our transactions may wait for locks
   * without limit. A no-op on a direct connection, where the startup options set both.
   */
  async checkSessionDefaults(warn: (message: string) => void): Promise<void> {
    if (!this.options.transactionPooling) return;
    const { rows } = await this.pool.query<{ schema: string | null; lockTimeout: string }>(
      `SELECT current_schema() AS schema, current_setting('lock_timeout') AS "lockTimeout"`,
    );
    const seen = rows[0];
    if (seen?.schema !== this.schema)
      throw new Error(
        `behind a transaction pooler the ledger's schema must be the role's search_path: current_schema() is ${seen?.schema ?? 'none'}, expected ${this.schema} (ALTER ROLE <user> IN DATABASE <db> SET search_path = "${this.schema}"; docs/scaling.md)`,
      );
    if (seen.lockTimeout === '0')
      warn(
        'lock_timeout is 0 for statements outside transactions (behind a transaction pooler it comes from the role: ALTER ROLE <user> SET lock_timeout = 5000; docs/scaling.md)',
      );
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
