import { Pool, type PoolClient } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

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
}

export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * One pg pool shared by Prisma (through @prisma/adapter-pg) and the few hot paths
 * that run hand-written SQL, so both see the same schema and the same connections.
 */
export class LedgerDatabase {
  readonly pool: Pool;
  readonly prisma: PrismaClient;
  readonly schema: string;

  constructor(options: LedgerDatabaseOptions) {
    this.schema = options.schema;
    this.pool = new Pool({
      connectionString: options.connectionString,
      max: options.poolSize,
      // search_path makes raw SQL resolve unqualified table names in the configured schema.
      options: [
        `-c search_path="${options.schema}"`,
        `-c lock_timeout=${options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS}`,
        `-c idle_in_transaction_session_timeout=${options.idleInTransactionTimeoutMs ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
      ].join(' '),
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
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

  /** Runs `fn` in one transaction on a dedicated connection; rolls back on any error. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
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

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}
