import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { runMigrations } from '../../libs/ledger/src/migrations/migration-runner';
import { TEST_DATABASE_URL } from './env';

export interface TestSchema {
  url: string;
  schema: string;
  /** Runs SQL in this schema (for assertions that count rows). */
  query<T extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<T[]>;
  /** A connection of its own in this schema (a transaction held across test steps); end() it. */
  connect(): Promise<Client>;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated PostgreSQL schema for one test file, so files run in parallel
 * without seeing each other's rows. Call drop() in afterAll.
 */
export async function createTestSchema(
  label = 't',
  opts: { migrate?: boolean } = {},
): Promise<TestSchema> {
  const schema = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  if (opts.migrate !== false) {
    await runMigrations({ connectionString: TEST_DATABASE_URL, schema });
  } else {
    const c = new Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`CREATE SCHEMA "${schema}"`);
    await c.end();
  }
  // A pool, not one client: fault tests restart PostgreSQL under it, and a pool
  // reconnects on the next query where a lone client would be dead for good.
  const pool = new Pool({
    connectionString: TEST_DATABASE_URL,
    max: 2,
    options: `-c search_path="${schema}"`,
  });
  pool.on('error', () => undefined);
  const client = pool;
  return {
    url: TEST_DATABASE_URL,
    schema,
    async query<T>(sql: string, params?: unknown[]) {
      const res = await client.query(sql, params);
      return res.rows as T[];
    },
    async connect() {
      const own = new Client({
        connectionString: TEST_DATABASE_URL,
        options: `-c search_path="${schema}"`,
      });
      await own.connect();
      return own;
    },
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
