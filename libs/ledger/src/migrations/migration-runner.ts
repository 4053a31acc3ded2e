import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type DatabaseError } from 'pg';

/**
 * Applies prisma/migrations/<name>/migration.sql the way `prisma migrate deploy` does,
 * without Prisma's native schema engine (which cannot be downloaded on air-gapped
 * machines). Written by hand because no library applies Prisma's layout and writes
 * Prisma's own `_prisma_migrations` records; both tools can therefore take over from
 * each other on the same database.
 *
 * What Prisma does, and where it is written (prisma/prisma-engines, schema-engine/):
 * - core/src/commands/apply_migrations.rs: take the advisory lock, initialise the
 *   table, refuse while any record has finished_at NULL and rolled_back_at NULL
 *   (P3009), apply every migration directory whose name has no record that is not
 *   rolled back, in directory-name order; per migration: record_migration_started
 *   (id = random UUID, checksum, started_at, migration_name; logs NULL,
 *   applied_steps_count 0), run the script, record_successful_step
 *   (applied_steps_count + 1), record_migration_finished (finished_at); on failure
 *   record_failed_step (logs = the error) and stop.
 * - connectors/sql-schema-connector/src/sql_migration_persistence.rs: those writes.
 * - connectors/sql-schema-connector/src/flavour/postgres.rs: the table DDL below, the
 *   lock `pg_advisory_lock(72707369)`, and `initialize` refusing a non-empty schema
 *   without `_prisma_migrations` (P3005, "baseline" it).
 * - connectors/schema-connector/src/checksum.rs: the checksum (migrationChecksum).
 * - prisma/prisma packages/migrate/src/utils/listMigrations.ts: directories sorted with
 *   localeCompare, migration.sql read as UTF-8; migration_lock.toml provider checked
 *   (schema-connector/src/migrations_directory.rs, P3019).
 *
 * Where this runner deliberately differs: each migration runs in one explicit
 * transaction together with its record, so a failure leaves nothing half-applied; the
 * failed attempt is still recorded the way Prisma records it, but already marked
 * rolled back (what `prisma migrate resolve --rolled-back` would write), because the
 * rollback really happened. It also refuses to run when an applied migration's file
 * was edited (`migrate deploy` ignores that; `migrate dev`/`status` report it).
 */

/** The same advisory lock key Prisma Migrate takes, so the two tools also exclude each other. */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** Verbatim from prisma-engines' PostgresFlavour::create_migrations_table. */
export const PRISMA_MIGRATIONS_TABLE_DDL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

/** Tables Prisma's PostgreSQL flavour ignores when deciding whether a schema is empty. */
const IGNORED_TABLES = /^(spatial_ref_sys|geometry_columns)$/i;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateOptions {
  connectionString: string;
  /** Target PostgreSQL schema (created when missing); default the URL's ?schema= (as Prisma reads it), else public. */
  schema?: string;
  migrationsDir?: string;
  log?: (line: string) => void;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function defaultMigrationsDir(): string {
  // Works from both the TypeScript sources and the compiled dist/ tree.
  for (const up of ['../../../..', '../../../../..']) {
    const dir = join(__dirname, up, 'prisma', 'migrations');
    if (existsSync(dir)) return dir;
  }
  return join(process.cwd(), 'prisma', 'migrations');
}

/**
 * The schema a connection string points at the way Prisma reads it: the `schema`
 * query parameter, else public. (node-postgres ignores that parameter, so without this
 * `workgate migrate` and `prisma migrate deploy` given the same URL would migrate
 * different schemas.)
 */
export function targetSchema(connectionString: string): string {
  try {
    return new URL(connectionString).searchParams.get('schema') || 'public';
  } catch {
    return 'public'; // key=value connection strings carry no schema parameter
  }
}

const sha256 = (script: string) => createHash('sha256').update(script, 'utf8').digest();

/**
 * Prisma's migration checksum: SHA-256 of the script, lower-case hex, zero-padded.
 * The script is migration.sql decoded as UTF-8 (prisma/prisma listMigrations.ts reads
 * it with `encoding: 'utf-8'`) and hashed as its UTF-8 bytes with no normalisation
 * (prisma-engines schema-engine/connectors/schema-connector/src/checksum.rs,
 * `render_checksum` → `compute_checksum`). So for a valid UTF-8 file it is the sha256
 * of the file's bytes exactly, CRLF and BOM included.
 */
export function migrationChecksum(script: string): string {
  return sha256(script).toString('hex');
}

/**
 * Whether a recorded checksum matches a script, as Prisma decides it (checksum.rs,
 * `script_matches_checksum`): line endings do not matter on comparison (the script as
 * is, with CRLF → LF, or with LF → CRLF, because git may rewrite them on checkout), and
 * records whose checksum is not 64 characters long were written by an old engine that
 * did not zero-pad each byte (prisma-engines#1887), so they are compared in that format.
 */
export function checksumMatches(script: string, recorded: string): boolean {
  const legacy = recorded.length !== 0 && recorded.length !== 64;
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((s) => {
    const digest = sha256(s);
    const rendered = legacy
      ? Array.from(digest, (b) => b.toString(16)).join('')
      : digest.toString('hex');
    return rendered === recorded;
  });
}

/** Prisma's P3019: migration_lock.toml names another provider. */
function checkLockfile(dir: string): void {
  const file = join(dir, 'migration_lock.toml');
  if (!existsSync(file)) return;
  const line = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .find((l) => l.startsWith('provider'));
  const provider = line
    ? line.replace(/^provider = /, '').replace(/^"+|"+$/g, '')
    : '<PROVIDER NOT FOUND>';
  if (provider !== 'postgresql') {
    throw new MigrationError(
      `${file} says provider = "${provider}", but these migrations are applied to PostgreSQL ("postgresql").`,
    );
  }
}

export function readMigrations(dir: string): MigrationFile[] {
  if (!existsSync(dir)) throw new MigrationError(`No migrations directory at ${dir}`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b)) // Prisma's order (listMigrations.ts)
    .map((name) => {
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file))
        throw new MigrationError(`Migration directory ${join(dir, name)} has no migration.sql`);
      const sql = readFileSync(file, 'utf8');
      return { name, sql, checksum: migrationChecksum(sql) };
    });
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The error text Prisma would put in `logs` for a failed script (ApplyMigrationError). */
function failureLogs(name: string, err: unknown): string {
  const e = err as Partial<DatabaseError>;
  return `Migration \`${name}\` failed to apply.\nDatabase error code: ${e.code ?? 'none'}\n\nDatabase error:\n${e.message ?? String(err)}`;
}

export async function runMigrations(options: MigrateOptions): Promise<MigrateResult> {
  const schema = options.schema ?? targetSchema(options.connectionString);
  const log = options.log ?? (() => undefined);
  const dir = options.migrationsDir ?? defaultMigrationsDir();
  checkLockfile(dir);
  const migrations = readMigrations(dir);
  const client = new Client({ connectionString: options.connectionString });
  // A server going away emits 'error' on the Client besides failing the query in flight;
  // unhandled, the event would kill the process instead of the query's caller seeing it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Session-level lock: held across the per-migration transactions below, so two
    // replicas starting at once apply each migration exactly once. Unlike Prisma (10 s
    // timeout) it waits: a replica starting during a long migration should wait for it.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    try {
      await prepareSchema(client, schema);
      const rows = await appliedRows(client, schema);
      const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
      checkApplied(migrations, applied, log);
      const pending = migrations.filter((m) => !applied.has(m.name));
      if (pending.length === 0) log(`database is up to date (${migrations.length} migrations)`);
      const done: string[] = [];
      for (const [i, m] of pending.entries()) {
        log(`applying ${m.name} (${i + 1}/${pending.length})`);
        await applyMigration(client, schema, m);
        done.push(m.name);
      }
      return { applied: done, alreadyApplied: migrations.length - pending.length };
    } finally {
      await client
        .query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY])
        .catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}

/**
 * Creates the schema and the _prisma_migrations table when missing. A schema with
 * tables but no _prisma_migrations is refused: which migrations it has is unknown.
 */
async function prepareSchema(client: Client, schema: string): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  await client.query(`SET search_path TO ${quoteIdent(schema)}`);
  const { rows: tables } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [schema],
  );
  if (!tables.some((t) => t.name === '_prisma_migrations')) {
    const others = tables.map((t) => t.name).filter((t) => !IGNORED_TABLES.test(t));
    if (others.length) {
      throw new MigrationError(
        `Schema "${schema}" is not empty (tables ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}) but has no _prisma_migrations table, so it is unknown which migrations it already has (Prisma's P3005). Baseline it: record the migrations it already contains as applied (\`prisma migrate resolve --applied <name>\`, or insert their rows), then run migrate again.`,
      );
    }
    await client.query(PRISMA_MIGRATIONS_TABLE_DDL);
  }
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  started_at: Date;
  logs: string | null;
}

/** The migrations recorded as applied; refuses to go on past one that never finished. */
async function appliedRows(client: Client, schema: string): Promise<AppliedRow[]> {
  const { rows } = await client.query<AppliedRow>(
    `SELECT migration_name, checksum, finished_at, started_at, logs FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  const failed = rows.filter((r) => r.finished_at === null);
  if (failed.length) {
    const details = failed
      .map((f) => {
        const logs = f.logs?.trim() ? ` with these logs:\n${f.logs.trim()}` : '';
        return `- ${f.migration_name}, started at ${f.started_at.toISOString()}, never finished${logs}`;
      })
      .join('\n');
    const names = failed.map((f) => `'${f.migration_name.replace(/'/g, "''")}'`).join(', ');
    throw new MigrationError(
      `Found failed migrations in schema "${schema}"; no new migration is applied until they are resolved (Prisma's P3009):\n${details}\n` +
        `Check what each one changed and fix the database by hand, then mark it rolled back (\`prisma migrate resolve --rolled-back <name>\`, or UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name IN (${names}) AND finished_at IS NULL) and run migrate again.`,
    );
  }
  return rows;
}

/** Warns of applied migrations missing on disk; refuses one edited after it was applied. */
function checkApplied(
  migrations: MigrationFile[],
  applied: Map<string, string>,
  log: (line: string) => void,
): void {
  const known = new Set(migrations.map((m) => m.name));
  for (const name of applied.keys()) {
    if (!known.has(name))
      log(`warning: ${name} is applied in the database but missing from the migrations directory`);
  }
  for (const m of migrations) {
    const checksum = applied.get(m.name);
    if (checksum !== undefined && !checksumMatches(m.sql, checksum)) {
      throw new MigrationError(
        `Migration ${m.name} was modified after it was applied (checksum ${checksum.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… on disk). Restore the file and add a new migration instead.`,
      );
    }
  }
}

/** Applies one migration in its own transaction and records it as Prisma does. */
async function applyMigration(client: Client, schema: string, m: MigrationFile): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    const started = await client.query<{ at: Date }>('SELECT clock_timestamp() AS at');
    await client.query(m.sql);
    // The row Prisma leaves after a successful apply: logs NULL, one step.
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, clock_timestamp(), 1)`,
      [id, m.checksum, m.name, started.rows[0]!.at],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Recorded as Prisma records a failed attempt (logs), already marked rolled
    // back because the transaction undid it: both tools will retry it.
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, rolled_back_at, logs, applied_steps_count)
         VALUES ($1, $2, $3, now(), now(), $4, 0)`,
        [id, m.checksum, m.name, failureLogs(m.name, err)],
      )
      .catch(() => undefined);
    throw new MigrationError(
      `Migration ${m.name} failed and was rolled back: ${(err as Error).message}`,
    );
  }
}
