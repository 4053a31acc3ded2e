import { type EnvConfig, type FileConfig } from './config.schema';

type DatabaseSettings = { env: EnvConfig; database: FileConfig['database'] };

/**
 * Where what needs a session goes: migrations (Prisma's session advisory lock, `SET
 * search_path`) and the Telegram poller's lease (a session advisory lock held for as
 * long as the poller runs). Through a transaction pooler a session lock would stay on
 * whatever server connection took it, held for nobody and re-entrant for every client
 * that lands there next, so these must reach PostgreSQL directly.
 */
export function sessionDatabaseUrl(config: DatabaseSettings): string {
  return config.env.DATABASE_MIGRATE_URL ?? config.env.DATABASE_URL;
}

/** Where the operator's lists, search and stats read (a replica may lag the primary). */
export function readDatabaseUrl(config: DatabaseSettings): string {
  return config.env.DATABASE_READ_URL ?? config.env.DATABASE_URL;
}

/** Whether the hot paths may use named prepared statements (see databaseConfigSchema). */
export function usesPreparedStatements(config: DatabaseSettings): boolean {
  return config.database.preparedStatements ?? !config.database.transactionPooling;
}

/** Why these database settings cannot work, or null. */
export function databaseSettingsProblem(config: DatabaseSettings): string | null {
  if (config.database.transactionPooling && !config.env.DATABASE_MIGRATE_URL)
    return 'database.transactionPooling needs DATABASE_MIGRATE_URL: a direct connection for migrations and session locks, which a transaction pooler cannot hold';
  return null;
}
