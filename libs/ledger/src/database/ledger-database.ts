import { Pool, type PoolClient } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

/** A pool or one of its clients: where a single statement needs no transaction. */
export type Queryable = Pick<PoolClient, 'query'>;

export interface LedgerDatabaseOptions {
  connectionString: string;
  schema: string;
  poolSize: number;
  /** Called for errors on idle pooled connections (e.g. PostgreSQL restarting). */
  onPoolError?: (err: Error) => void;
}

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
      options: `-c search_path="${options.schema}"`,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection dropped by a restarting server emits 'error' on the pool;
    // unhandled, it would crash the process. The next query reconnects.
    this.pool.on('error', (err) => options.onPoolError?.(err));
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
