import { type Provider } from '@nestjs/common';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { LedgerDatabase } from './ledger-database';

export const ledgerDatabaseProvider: Provider = {
  provide: LedgerDatabase,
  inject: [APP_CONFIG, LOGGER],
  useFactory: (config: AppConfig, logger: Logger) =>
    new LedgerDatabase({
      connectionString: config.env.DATABASE_URL,
      schema: config.env.WORKGATE_DB_SCHEMA,
      poolSize: config.env.DATABASE_POOL_SIZE,
      lockTimeoutMs: config.database.lockTimeout,
      idleInTransactionTimeoutMs: config.database.idleInTransactionTimeout,
      applicationName: `workgate:${config.env.WORKER_ID ?? process.pid}`,
      onPoolError: (err) =>
        logger.warn(
          { err: err.message },
          'PostgreSQL connection lost; the statement on it fails and the pool reconnects',
        ),
    }),
};
