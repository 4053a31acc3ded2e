import { type Command, Option } from 'commander';
import { loadConfig, sessionDatabaseUrl } from '@app/config';
import { WorkgateError } from '@app/core';
import {
  API_TOKEN_ROLES,
  ApiTokenRepository,
  CryptoIdGenerator,
  isDatabaseUnavailable,
  LedgerDatabase,
  SystemClock,
} from '@app/ledger';
import { CliError, EXIT } from '../exit-codes';
import { dash, printJson, renderTable, when } from '../output/table';

/**
 * API tokens are managed straight in PostgreSQL, not over the API: the first token
 * has to come from somewhere, and whoever can reach the database owns the system anyway.
 */
async function withTokens<T>(fn: (tokens: ApiTokenRepository) => Promise<T>): Promise<T> {
  const config = loadConfig({ path: null });
  const { env } = config;
  // A one-off session with startup options: the direct URL when there is one (a
  // transaction pooler refuses or drops those options).
  const url = sessionDatabaseUrl(config);
  const db = new LedgerDatabase({
    connectionString: url,
    schema: env.WORKGATE_DB_SCHEMA,
    poolSize: 1,
    onPoolError: () => undefined,
  });
  try {
    return await fn(new ApiTokenRepository(db, new CryptoIdGenerator(), new SystemClock()));
  } catch (err) {
    if (err instanceof WorkgateError) throw new CliError(EXIT.failed, err.message);
    if (isDatabaseUnavailable(err))
      throw new CliError(
        EXIT.unavailable,
        `PostgreSQL is unreachable at ${new URL(url).host}: ${(err as Error).message}`,
      );
    throw err;
  } finally {
    await db.close();
  }
}

export function registerTokens(program: Command): void {
  const tokens = program
    .command('tokens')
    .description('API tokens for the operator API (written straight to PostgreSQL: DATABASE_URL)');

  tokens
    .command('create')
    .description('create a token; it is printed once and only its hash is kept')
    .requiredOption('--name <name>', 'who uses it; actions show as token:<name> in timelines')
    .addOption(
      new Option('--role <role>', 'viewer: read; operator: read and act')
        .choices(API_TOKEN_ROLES)
        .makeOptionMandatory(),
    )
    .option('--json', 'print JSON (for scripts)')
    .action(
      async (opts: { name: string; role: (typeof API_TOKEN_ROLES)[number]; json?: boolean }) => {
        const created = await withTokens((t) => t.create(opts.name, opts.role));
        if (opts.json) return printJson(created);
        console.error(
          `Created ${created.role} token "${created.name}". It is shown this once; store it now:`,
        );
        console.log(created.token);
      },
    );

  tokens
    .command('ls')
    .description('list tokens (never the tokens themselves)')
    .option('--json', 'print JSON (for scripts)')
    .action(async (opts: { json?: boolean }) => {
      const list = await withTokens((t) => t.list());
      if (opts.json) return printJson(list);
      if (!list.length)
        return console.log('No tokens yet: workgate tokens create --name <you> --role operator');
      console.log(
        renderTable(
          ['NAME', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'],
          list.map((t) => [
            t.name,
            t.role,
            `${t.prefix}…`,
            when(t.createdAt.toISOString()),
            when(t.lastUsedAt?.toISOString()),
            dash(t.revokedAt ? when(t.revokedAt.toISOString()) : null),
          ]),
        ),
      );
    });

  tokens
    .command('revoke <name>')
    .description('revoke a token at once (its name stays taken)')
    .option('--json', 'print JSON (for scripts)')
    .action(async (name: string, opts: { json?: boolean }) => {
      const revoked = await withTokens((t) => t.revoke(name));
      if (!revoked) throw new CliError(EXIT.notFound, `No token named "${name}".`);
      if (opts.json) return printJson(revoked);
      console.log(`Revoked token "${revoked.name}".`);
    });
}
