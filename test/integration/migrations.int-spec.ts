import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformFileSync } from '@swc/core';
import { Client } from 'pg';
import {
  MigrationError,
  PRISMA_MIGRATE_LOCK_KEY,
  PRISMA_MIGRATIONS_TABLE_DDL,
  type MigrateResult,
  runMigrations,
} from '../../libs/ledger/src/migrations/migration-runner';
import { checkSchemaDrift } from '../../libs/ledger/src/migrations/schema-introspect';
import { worksSearchQuery } from '../../libs/ledger/src/operator/works-search.sql';
import { createTestSchema, type TestSchema } from '../support/db';
import { TEST_DATABASE_URL } from '../support/env';
import { until } from '../support/until';

// Real PostgreSQL, each test in a fresh schema of its own, dropped after it.

const root = join(__dirname, '..', '..');
const MIGRATIONS = join(root, 'prisma', 'migrations');
const INIT = '20261124000000_init';
/** Every migration in the repository, in order: a fresh database gets all of them. */
const ALL = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

jest.setTimeout(60_000);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function freshSchema(label: string): Promise<TestSchema> {
  const s = await createTestSchema(label, { migrate: false });
  cleanups.push(() => s.drop());
  return s;
}

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wg-${label}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The first migration of prisma/migrations (so the runner's mechanics are tested against a
 * fixed history however many migrations the project adds), optionally with extra
 * migrations, in a folder a test may edit.
 */
function migrationsCopy(extra: Record<string, string> = {}): string {
  const dir = join(tempDir('migrations'), 'migrations');
  mkdirSync(dir);
  cpSync(join(MIGRATIONS, INIT), join(dir, INIT), { recursive: true });
  cpSync(join(MIGRATIONS, 'migration_lock.toml'), join(dir, 'migration_lock.toml'));
  for (const [name, sql] of Object.entries(extra)) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  }
  return dir;
}

const migrate = (s: TestSchema, migrationsDir?: string) =>
  runMigrations({ connectionString: s.url, schema: s.schema, migrationsDir });

const records = (s: TestSchema) =>
  s.query<{
    id: string;
    migration_name: string;
    checksum: string;
    started_at: Date;
    finished_at: Date | null;
    rolled_back_at: Date | null;
    logs: string | null;
    applied_steps_count: number;
  }>('SELECT * FROM "_prisma_migrations" ORDER BY started_at');

describe('migration runner + drift check on real PostgreSQL', () => {
  it('migrates a fresh schema to exactly what schema.prisma describes', async () => {
    const s = await freshSchema('mig_fresh');
    const result = await migrate(s);
    expect(result).toEqual({ applied: ALL, alreadyApplied: 0 });
    const drift = await checkSchemaDrift({ connectionString: s.url, schema: s.schema });
    expect(drift.problems).toEqual([]);
    expect(drift.ok).toBe(true);
  });

  it("gives the operator API's q= search a trigram index it can use (pg_trgm)", async () => {
    const s = await freshSchema('mig_trgm');
    await migrate(s);
    // Seq scans off: on a table this small the planner would rightly scan it; the point
    // is that the search expression matches the index at all.
    const client = new Client({
      connectionString: s.url,
      options: `-c search_path="${s.schema}" -c enable_seqscan=off`,
    });
    await client.connect();
    cleanups.push(() => client.end());
    const query = worksSearchQuery({ q: 'Customer 99', limit: 50 });
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (COSTS OFF) ${query.text}`,
      query.values,
    );
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('Work_input_trgm_idx');
  });

  it('applies nothing the second time', async () => {
    const s = await freshSchema('mig_twice');
    await migrate(s);
    const before = await records(s);
    expect(await migrate(s)).toEqual({ applied: [], alreadyApplied: ALL.length });
    expect(await records(s)).toEqual(before);
  });

  it('writes _prisma_migrations exactly as Prisma Migrate does', async () => {
    const s = await freshSchema('mig_shape');
    await migrate(s, migrationsCopy());
    // The table: Prisma's DDL (prisma-engines PostgresFlavour::create_migrations_table).
    const columns = await s.query(
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      [s.schema],
    );
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        len: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        len: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        len: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'logs',
        data_type: 'text',
        len: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        len: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    // The row: what apply_migrations.rs leaves after a successful apply.
    const [row, ...more] = await records(s);
    expect(more).toEqual([]);
    const fileSha = createHash('sha256')
      .update(readFileSync(join(MIGRATIONS, INIT, 'migration.sql')))
      .digest('hex');
    expect(row).toMatchObject({
      migration_name: INIT,
      checksum: fileSha,
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row!.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(row!.finished_at!.getTime()).toBeGreaterThanOrEqual(row!.started_at.getTime());
  });

  it('takes over a database Prisma Migrate migrated (its records, line endings, old checksums)', async () => {
    const s = await freshSchema('mig_takeover');
    const sql = readFileSync(join(MIGRATIONS, INIT, 'migration.sql'), 'utf8');
    // What `prisma migrate deploy` does, step by step (apply_migrations.rs).
    await s.query(PRISMA_MIGRATIONS_TABLE_DDL);
    // Recorded from a Windows checkout (CRLF) by an engine that did not zero-pad bytes.
    const crlfDigest = createHash('sha256').update(sql.replace(/\n/g, '\r\n')).digest();
    const legacyChecksum = Array.from(crlfDigest, (b) => b.toString(16)).join('');
    await s.query(
      `INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES ('3f1c8a52-4a5e-4b8e-9a51-0c6f2f4d9a10', $1, now(), $2)`,
      [legacyChecksum, INIT],
    );
    await s.query(sql);
    await s.query(
      `UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1 WHERE migration_name = $1`,
      [INIT],
    );
    await s.query(`UPDATE _prisma_migrations SET finished_at = now() WHERE migration_name = $1`, [
      INIT,
    ]);

    expect(await migrate(s)).toEqual({ applied: ALL.slice(1), alreadyApplied: 1 });
    expect(
      (await checkSchemaDrift({ connectionString: s.url, schema: s.schema })).problems,
    ).toEqual([]);
  });

  it('two concurrent migrate processes record each migration exactly once', async () => {
    const s = await freshSchema('mig_race');
    const dir = migrationsCopy({
      '20261125000000_probe_index': 'CREATE INDEX "Work_sourceId_idx" ON "Work"("sourceId");\n',
      '20261126000000_probe_table': 'CREATE TABLE "Probe" ("id" INTEGER NOT NULL PRIMARY KEY);\n',
    });
    const runner = compileForChild();

    // Hold Prisma's lock so that both processes are provably waiting on it at once,
    // then let them race for it.
    const holder = new Client({ connectionString: TEST_DATABASE_URL });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    let held = true;
    cleanups.push(async () => {
      if (held) await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    });

    const appName = `wgmig_${s.schema}`;
    const children = [1, 2].map((i) => {
      const url = new URL(s.url);
      url.searchParams.set('application_name', `${appName}_${i}`);
      return runChild(runner, {
        connectionString: url.toString(),
        schema: s.schema,
        migrationsDir: dir,
      });
    });
    await until(
      async () => {
        const [r] = await s.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name LIKE $1`,
          [`${appName}_%`],
        );
        return r!.n === 2;
      },
      'both migrate processes to wait on the advisory lock',
      20_000,
    );
    await holder.query('SELECT pg_advisory_unlock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    held = false;

    const results = await Promise.all(children.map((c) => c.done));
    const names = [INIT, '20261125000000_probe_index', '20261126000000_probe_table'];
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 3]);
    expect(results.find((r) => r.applied.length === 3)!.applied).toEqual(names);
    expect(results.find((r) => r.applied.length === 0)!.alreadyApplied).toBe(3);
    const counts = await s.query<{ migration_name: string; n: number; finished: number }>(
      `SELECT migration_name, count(*)::int AS n, count(finished_at)::int AS finished FROM "_prisma_migrations" GROUP BY migration_name ORDER BY migration_name`,
    );
    expect(counts).toEqual(names.map((migration_name) => ({ migration_name, n: 1, finished: 1 })));
  });

  it('refuses when an applied migration file was modified, but not for line endings alone', async () => {
    const s = await freshSchema('mig_edited');
    const dir = migrationsCopy();
    await migrate(s, dir);
    const file = join(dir, INIT, 'migration.sql');
    const original = readFileSync(file, 'utf8');

    // Git may check the file out with CRLF: Prisma still accepts it, and so do we.
    writeFileSync(file, original.replace(/\n/g, '\r\n'));
    expect(await migrate(s, dir)).toEqual({ applied: [], alreadyApplied: 1 });

    writeFileSync(file, original);
    appendFileSync(file, '\nALTER TABLE "Work" ADD COLUMN "sneaky" TEXT;\n');
    const err = await migrate(s, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(
      new RegExp(`Migration ${INIT} was modified after it was applied`),
    );
    expect((err as Error).message).toMatch(/add a new migration instead/);
    const columns = await s.query(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'sneaky'`,
      [s.schema],
    );
    expect(columns).toEqual([]);
  });

  it('refuses while a migration is recorded as started but never finished, until it is resolved', async () => {
    const s = await freshSchema('mig_half');
    const next = '20261125000000_add_probe';
    const dir = migrationsCopy({
      [next]: 'CREATE TABLE "Probe" ("id" INTEGER NOT NULL PRIMARY KEY);\n',
    });
    await migrate(s, tempDirWith(dir, [INIT]));
    // What Prisma leaves when it dies (or its script fails) mid-migration.
    await s.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, logs, applied_steps_count)
       VALUES ('0b7e6a4e-9a3c-4f0e-8f5e-2f1d1a6c3b21', $1, $2, now(), 'ERROR: canceling statement due to user request', 0)`,
      [
        createHash('sha256')
          .update(readFileSync(join(dir, next, 'migration.sql')))
          .digest('hex'),
        next,
      ],
    );

    const err = await migrate(s, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    const message = (err as Error).message;
    expect(message).toMatch(/Found failed migrations/);
    expect(message).toContain(`${next}, started at`);
    expect(message).toContain(
      'never finished with these logs:\nERROR: canceling statement due to user request',
    );
    expect(message).toMatch(/prisma migrate resolve --rolled-back/);
    expect(
      await s.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'Probe'`, [
        s.schema,
      ]),
    ).toEqual([]);

    // Following the message's advice lets it through.
    await s.query(
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL`,
      [next],
    );
    expect(await migrate(s, dir)).toEqual({ applied: [next], alreadyApplied: 1 });
  });

  it('rolls a failing migration back entirely and records the failure as Prisma would, already rolled back', async () => {
    const s = await freshSchema('mig_fail');
    const bad = '20261125000000_bad';
    const dir = migrationsCopy({
      [bad]: 'CREATE TABLE "Half" ("id" INTEGER);\nALTER TABLE "Nope" ADD COLUMN "x" INTEGER;\n',
    });
    const err = await migrate(s, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(
      new RegExp(`Migration ${bad} failed and was rolled back: relation "Nope" does not exist`),
    );
    // INIT stays applied; nothing of the bad one remains.
    expect(
      await s.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename IN ('Work', 'Half')`,
        [s.schema],
      ),
    ).toEqual([{ tablename: 'Work' }]);
    const rows = await records(s);
    expect(
      rows.map((r) => [
        r.migration_name,
        r.finished_at !== null,
        r.rolled_back_at !== null,
        r.applied_steps_count,
      ]),
    ).toEqual([
      [INIT, true, false, 1],
      [bad, false, true, 0],
    ]);
    expect(rows[1]!.logs).toMatch(
      /Database error code: 42P01[\s\S]*relation "Nope" does not exist/,
    );

    // Fixed, it applies on the next run (a rolled-back record does not block, as in Prisma).
    writeFileSync(join(dir, bad, 'migration.sql'), 'CREATE TABLE "Half" ("id" INTEGER);\n');
    expect(await migrate(s, dir)).toEqual({ applied: [bad], alreadyApplied: 1 });
  });

  it('refuses a non-empty schema without _prisma_migrations (Prisma’s P3005) instead of half-applying', async () => {
    const s = await freshSchema('mig_nonempty');
    await s.query('CREATE TABLE "Legacy" (id INTEGER)');
    await expect(migrate(s)).rejects.toThrow(
      /is not empty \(tables Legacy\) but has no _prisma_migrations table[\s\S]*Baseline it/,
    );
    expect(
      await s.query(
        `SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = '_prisma_migrations'`,
        [s.schema],
      ),
    ).toEqual([]);
  });

  it('migrates the schema named by ?schema= in the URL, as Prisma does', async () => {
    const s = await freshSchema('mig_urlschema');
    const url = new URL(s.url);
    url.searchParams.set('schema', s.schema);
    expect(await runMigrations({ connectionString: url.toString() })).toEqual({
      applied: ALL,
      alreadyApplied: 0,
    });
    expect((await checkSchemaDrift({ connectionString: url.toString() })).ok).toBe(true);
  });

  it('reports database changes made without a migration, naming model, field and difference', async () => {
    const s = await freshSchema('mig_drift_db');
    await migrate(s);
    await s.query('ALTER TABLE "Work" DROP COLUMN "waitReason"');
    await s.query('ALTER TABLE "ModelCall" ALTER COLUMN "costUsd" TYPE NUMERIC(10,2)');
    await s.query('ALTER TABLE "Work" ALTER COLUMN "kind" DROP NOT NULL');
    await s.query(`ALTER TYPE "WaitType" ADD VALUE 'carrier_pigeon'`);
    await s.query('DROP INDEX "Step_workId_seq_key"');
    await s.query('ALTER TABLE "Outbox" ADD COLUMN "legacy" TEXT');

    const drift = await checkSchemaDrift({ connectionString: s.url, schema: s.schema });
    expect(drift.ok).toBe(false);
    expect(drift.problems.sort()).toEqual(
      [
        'Work.waitReason: column "waitReason" is missing from table "Work"',
        'ModelCall.costUsd: column type is numeric(10,2), schema.prisma says numeric(14,6)',
        'Work.kind: column is nullable, schema.prisma says required (NOT NULL)',
        'enum WaitType: database has values not in schema.prisma: carrier_pigeon',
        'Step @@unique([workId, seq]): no unique index on ("workId", "seq") in table "Step"',
        'model Outbox: table "Outbox" has column "legacy" that schema.prisma does not declare',
      ].sort(),
    );
  });

  it('reports a schema.prisma edit that has no migration', async () => {
    const s = await freshSchema('mig_drift_schema');
    await migrate(s);
    const original = readFileSync(join(root, 'prisma', 'schema.prisma'), 'utf8');
    const edited =
      original
        .replace(
          '  finishedAt       DateTime?  @db.Timestamptz(3)\n',
          '  finishedAt       DateTime?  @db.Timestamptz(3)\n  priority         Int        @default(0)\n',
        )
        .replace('  @@index([createdAt])\n', '') +
      '\nmodel AuditLog {\n  id String @id @db.Uuid\n  at DateTime @db.Timestamptz(3)\n}\n';
    expect(edited).toContain('priority');
    const schemaPath = join(tempDir('schema'), 'schema.prisma');
    writeFileSync(schemaPath, edited);

    const drift = await checkSchemaDrift({ connectionString: s.url, schema: s.schema, schemaPath });
    expect(drift.ok).toBe(false);
    expect(drift.problems.sort()).toEqual(
      [
        'Work.priority: column "priority" is missing from table "Work"',
        'model AuditLog: table "AuditLog" is missing',
        'model Work: table "Work" has index "Work_createdAt_idx" on ("createdAt") that schema.prisma does not declare',
      ].sort(),
    );
  });
});

/** A copy of a migrations directory holding only the named migrations. */
function tempDirWith(dir: string, names: string[]): string {
  const out = join(tempDir('subset'), 'migrations');
  mkdirSync(out);
  cpSync(join(dir, 'migration_lock.toml'), join(out, 'migration_lock.toml'));
  for (const n of names) cpSync(join(dir, n), join(out, n), { recursive: true });
  return out;
}

/** migration-runner.ts compiled to CommonJS for plain `node` children (test/support/migrate-child.js). */
function compileForChild(): string {
  const out = join(tempDir('runner'), 'migration-runner.js');
  const { code } = transformFileSync(
    join(root, 'libs', 'ledger', 'src', 'migrations', 'migration-runner.ts'),
    {
      swcrc: false,
      jsc: { target: 'es2023', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    },
  );
  writeFileSync(out, code);
  return out;
}

function runChild(
  runnerPath: string,
  options: object,
): { proc: ChildProcess; done: Promise<MigrateResult> } {
  const proc = spawn(
    process.execPath,
    [join(root, 'test', 'support', 'migrate-child.js'), runnerPath, JSON.stringify(options)],
    {
      // The compiled runner lives outside the repo; let it find `pg` here.
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill();
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<MigrateResult>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as MigrateResult);
      else reject(new Error(`migrate child exited with ${code}: ${stderr}`));
    });
  });
  return { proc, done };
}
