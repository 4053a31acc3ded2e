import { type Command } from 'commander';
import { loadConfig } from '@app/config';
import { isDatabaseUnavailable, MigrationError, runMigrations } from '@app/ledger';
import { EXIT } from '../exit-codes';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description(
      'apply pending migrations (prisma/migrations) to DATABASE_URL, as `prisma migrate deploy` would',
    )
    .action(async () => {
      const config = loadConfig();
      const target = new URL(config.env.DATABASE_URL);
      console.log(
        `[migrate] ${target.host}${target.pathname} schema ${config.env.WORKGATE_DB_SCHEMA}`,
      );
      try {
        const result = await runMigrations({
          connectionString: config.env.DATABASE_URL,
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
