import { type Provider } from '@nestjs/common';
import {
  APP_CONFIG,
  type AppConfig,
  LOGGER,
  type Logger,
  readDatabaseUrl,
  usesPreparedStatements,
} from '@app/config';
import { LedgerDatabase, type LedgerDatabaseOptions } from './ledger-database';
import { LedgerReadDatabase } from './ledger-read-database';

function databaseOptions(
  config: AppConfig,
  logger: Logger,
  connectionString: string,
): LedgerDatabaseOptions {
  return {
    connectionString,
    schema: config.env.WORKGATE_DB_SCHEMA,
    poolSize: config.env.DATABASE_POOL_SIZE,
    lockTimeoutMs: config.database.lockTimeout,
    idleInTransactionTimeoutMs: config.database.idleInTransactionTimeout,
    poolIdleTimeoutMs: config.database.poolIdleTimeout,
    transactionPooling: config.database.transactionPooling,
    preparedStatements: usesPreparedStatements(config),
    applicationName: `workgate:${config.env.WORKER_ID ?? process.pid}`,
    onPoolError: (err) =>
      logger.warn(
        { err: err.message },
        'PostgreSQL connection lost; the statement on it fails and the pool reconnects',
      ),
  };
}

/** A pool on `url`, refused (and closed) when the pooler's session defaults are wrong. */
async function checkedDatabase(
  config: AppConfig,
  logger: Logger,
  url: string,
): Promise<LedgerDatabase> {
  const db = new LedgerDatabase(databaseOptions(config, logger, url));
  try {
    await db.checkSessionDefaults((message) => logger.warn(message));
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export const ledgerDatabaseProvider: Provider = {
  provide: LedgerDatabase,
  inject: [APP_CONFIG, LOGGER],
  useFactory: (config: AppConfig, logger: Logger) =>
    checkedDatabase(config, logger, config.env.DATABASE_URL),
};

/**
 * The operator's lists on a replica when DATABASE_READ_URL is set (its own pool, the
 * same settings), else on the ledger's own pool.
 */
export const ledgerReadDatabaseProvider: Provider = {
  provide: LedgerReadDatabase,
  inject: [APP_CONFIG, LOGGER, LedgerDatabase],
  useFactory: async (config: AppConfig, logger: Logger, primary: LedgerDatabase) =>
    config.env.DATABASE_READ_URL
      ? new LedgerReadDatabase(await checkedDatabase(config, logger, readDatabaseUrl(config)), true)
      : new LedgerReadDatabase(primary, false),
};
