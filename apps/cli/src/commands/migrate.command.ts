import { type Command } from 'commander';
import { loadConfig, sessionDatabaseUrl } from '@app/config';
import { isDatabaseUnavailable, MigrationError, runMigrations } from '@app/ledger';
import { EXIT } from '../exit-codes';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending migrations (prisma/migrations) through DATABASE_MIGRATE_URL, else DATABASE_URL, as `prisma migrate deploy` would',
    )
    .action(async () => {
      const config = loadConfig();
      // A direct connection when one is given: the migration lock is a session lock.
      const url = sessionDatabaseUrl(config);
      const target = new URL(url);
      console.log(
        `[migrate] ${target.host}${target.pathname} schema ${config.env.WORKGATE_DB_SCHEMA}`,
      );
      try {
        const result = await runMigrations({
          connectionString: url,
          schema: config.env.WORKGATE_DB_SCHEMA,
          log: (line) => console.log(`[migrate] ${line}`),
        });
        console.log(
          `[migrate] done: ${result.applied.length} applied, ${result.alreadyApplied} already applied`,
        );
      } catch (err) {
        console.error(`[migrate] ${(err as Error).message}`);
        process.exitCode =
          err instanceof MigrationError
            ? EXIT.failed
            : isDatabaseUnavailable(err)
              ? EXIT.unavailable
              : EXIT.failed;
      }
    });
}
