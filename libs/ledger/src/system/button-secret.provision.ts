import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type AppConfig, sessionDatabaseUrl } from '@app/config';
import { type Queryable } from '../database/ledger-database';

const BUTTON_SECRET_NAME = 'buttons';

/**
 * The secret the installation keeps under `name`, made on first use: 32 random bytes,
 * claimed with INSERT … ON CONFLICT DO NOTHING and then read back in a statement of its
 * own. Of gateways and workers starting at once, one insert wins and the others wait on
 * the primary key, do nothing, and read the winner's value (a fresh snapshot: reading in
 * the insert's own statement could miss a row committed after that statement began).
 */
export async function installationSecret(db: Queryable, name: string): Promise<string> {
  await db.query(
    `INSERT INTO "InstallationSecret" (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
    [name, randomBytes(32).toString('base64url')],
  );
  const { rows } = await db.query<{ value: string }>(
    'SELECT value FROM "InstallationSecret" WHERE name = $1',
    [name],
  );
  if (!rows[0]) throw new Error(`installation secret "${name}" vanished after it was written`);
  return rows[0].value;
}

/**
 * The config with a button secret in `chat.buttonSecrets`: the configured ones
 * (`chat.buttonSecrets`, else WORKGATE_BUTTON_SECRET) win; otherwise the ledger's
 * generated one, so the worker (which signs buttons) and every gateway (which verify
 * them) agree with no setup and nobody can derive it from a URL. createGateway and
 * createWorker call it before anything reads the config.
 */
export async function provisionButtonSecret(config: AppConfig): Promise<AppConfig> {
  if (config.chat.buttonSecrets.length) return config;
  const fromEnv = config.env.WORKGATE_BUTTON_SECRET;
  const secret =
    fromEnv ??
    (await withClient(config, (client) => installationSecret(client, BUTTON_SECRET_NAME)).catch(
      (err: { code?: string }) => {
        // 42P01 undefined_table: a database nobody migrated; say what to do about it.
        if (err.code === '42P01')
          throw new Error(
            `the ledger in schema "${config.env.WORKGATE_DB_SCHEMA}" is not migrated: run \`workgate migrate\` first`,
          );
        throw err;
      },
    ));
  return { ...config, chat: { ...config.chat, buttonSecrets: [secret] } };
}

async function withClient<T>(config: AppConfig, fn: (client: Client) => Promise<T>): Promise<T> {
  // The startup option below is refused by PgBouncer 1.18 (and lost by any transaction
  // pooler), so this one-off read goes where the migrations go.
  const client = new Client({
    connectionString: sessionDatabaseUrl(config),
    options: `-c search_path="${config.env.WORKGATE_DB_SCHEMA}"`,
    connectionTimeoutMillis: 5_000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
