import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { loadConfig } from '@app/config';
import {
  LedgerDatabase,
  LedgerReadDatabase,
  OperatorWorksRepository,
  runMigrations,
} from '@app/ledger';
import { TEST_REDIS_URL } from '@test/env';
import { createLedgerContext } from '@test/ledger';
import { until } from '@test/until';
import { type DisposablePostgres, startDisposablePostgres } from '@test/disposable-services';
import {
  createPooledRole,
  type DisposablePgBouncer,
  pgbouncerAvailable,
  startPgBouncer,
} from '@test/services/pgbouncer';
import { startStreamingReplica } from '@test/services/postgres-replica';

/*
 * The ledger's connections behind Debian's PgBouncer 1.18 in transaction mode (one
 * server connection, so every client shares it) and on a streaming replica: what
 * `database.transactionPooling` changes, why it has to, and where DATABASE_READ_URL
 * sends the operator's lists. A disposable PostgreSQL of the file's own.
 */
const DB = 'ledger';
const SCHEMA = 'pooled';
const available = pgbouncerAvailable();
if (!available)
  console.warn(
    'pooled-database.int-spec skipped: /usr/sbin/pgbouncer is not installed and `apt-get install -y pgbouncer` failed',
  );

let pg: DisposablePostgres;

beforeAll(async () => {
  if (!available) return;
  pg = await startDisposablePostgres();
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.query('CREATE ROLE stray LOGIN SUPERUSER');
  await admin.end();
  await createPooledRole(pg.url(DB), { role: 'pooled', database: DB, schema: SCHEMA });
  await runMigrations({ connectionString: pg.url(DB), schema: SCHEMA });
});

afterAll(() => pg?.destroy());

(available ? describe : describe.skip)('LedgerDatabase behind PgBouncer (transaction mode)', () => {
  let bouncer: DisposablePgBouncer;
  const opened: Array<{ close(): Promise<void> }> = [];
  const pooled = (options: { preparedStatements: boolean; user?: string }) => {
    const db = new LedgerDatabase({
      connectionString: bouncer.url(DB, options.user ?? 'pooled'),
      schema: SCHEMA,
      poolSize: 4,
      lockTimeoutMs: 1_234,
      transactionPooling: true,
      preparedStatements: options.preparedStatements,
    });
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    bouncer = await startPgBouncer({
      postgresPort: pg.port,
      poolSize: 1,
      users: ['pooled', 'stray'],
    });
  });

  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()));
    bouncer?.destroy();
  });

  it('sends hot-path statements unnamed: named ones collide on the shared server connection', async () => {
    const named = { name: 'ledger-probe', text: 'SELECT $1::int AS n', values: [1] };
    // Two clients, one server connection: the second Parse of the name is refused (or
    // the name is missing where it ran elsewhere). This is why names must go.
    const raw = new Pool({ connectionString: bouncer.url(DB, 'pooled'), max: 2 });
    try {
      const [a, b] = [await raw.connect(), await raw.connect()];
      await a.query(named);
      await expect(b.query(named)).rejects.toMatchObject({
        code: expect.stringMatching(/^(42P05|26000)$/),
      });
      a.release();
      b.release(true);
    } finally {
      await raw.end();
    }
    const db = pooled({ preparedStatements: false });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.pool.query<{ n: number }>({ ...named, values: [i] }).then((r) => r.rows[0]!.n),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('sends no startup options (PgBouncer refuses them) unless told the URL is a pooler', async () => {
    const direct = new LedgerDatabase({
      connectionString: bouncer.url(DB, 'pooled'),
      schema: SCHEMA,
      poolSize: 1,
    });
    opened.push(direct);
    await expect(direct.ping()).rejects.toThrow(/unsupported startup parameter: options/);
    await expect(pooled({ preparedStatements: false }).ping()).resolves.toBeUndefined();
  });

  it('sets its timeouts with SET LOCAL per transaction; none sticks to the server connection', async () => {
    const db = pooled({ preparedStatements: false });
    const settings = `SELECT current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle`;
    const inside = await db.transaction(async (c) => (await c.query(settings)).rows[0]);
    expect(inside).toEqual({ lock: '1234ms', idle: '10s' });
    // The same (only) server connection, outside a transaction: the role's defaults.
    const outside = (await db.pool.query(settings)).rows[0];
    expect(outside).toEqual({ lock: '5s', idle: '10s' });
    // Unqualified names resolve through the role's search_path, as raw SQL needs.
    await expect(db.pool.query('SELECT count(*) FROM "Work"')).resolves.toBeDefined();
  });

  it("refuses to start when the role's search_path is not the ledger's schema", async () => {
    const warnings: string[] = [];
    await expect(
      pooled({ preparedStatements: false, user: 'stray' }).checkSessionDefaults((m) =>
        warnings.push(m),
      ),
    ).rejects.toThrow(/current_schema\(\) is public, expected pooled .*ALTER ROLE/);
    await expect(
      pooled({ preparedStatements: false }).checkSessionDefaults((m) => warnings.push(m)),
    ).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
  });
});

(available ? describe : describe.skip)('DATABASE_READ_URL on a streaming replica', () => {
  let replica: DisposablePostgres;
  let app: INestApplicationContext;

  beforeAll(async () => {
    replica = await startStreamingReplica(pg);
    const config = loadConfig({
      env: {
        DATABASE_URL: pg.url(DB),
        DATABASE_READ_URL: replica.url(DB),
        WORKGATE_DB_SCHEMA: SCHEMA,
        REDIS_URL: TEST_REDIS_URL,
        WORKGATE_QUEUE_PREFIX: `readurl-${randomUUID()}`,
        LOG_LEVEL: 'silent',
      },
      path: null,
    });
    app = await createLedgerContext(config);
  });

  afterAll(async () => {
    await app?.close();
    replica?.destroy();
  });

  it('lists, searches and counts on the replica; a work itself is read on the primary', async () => {
    expect(app.get(LedgerReadDatabase).separate).toBe(true);
    const works = app.get(OperatorWorksRepository);
    const onReplica = new Client({ connectionString: replica.url(DB) });
    await onReplica.connect();
    try {
      // Replay paused: the replica stops at this point of the primary's history.
      await onReplica.query('SELECT pg_wal_replay_pause()');
      const id = randomUUID();
      await app.get(LedgerDatabase).pool.query(
        `INSERT INTO "Work" (id, kind, state, "sourceType", input, "retryPolicy")
         VALUES ($1, 'replica.probe', 'QUEUED', 'api', '{"probe": "lagging"}', '{}')`,
        [id],
      );
      expect((await works.detail(id))?.work.id).toBe(id);
      expect((await works.list({ limit: 50 })).items.map((w) => w.id)).not.toContain(id);
      expect((await works.list({ limit: 50, q: 'lagging' })).items).toEqual([]);
      expect((await works.stats(new Date(0), new Date())).byState.QUEUED).toBe(0);

      await onReplica.query('SELECT pg_wal_replay_resume()');
      await until(
        async () => (await works.list({ limit: 50 })).items.some((w) => w.id === id),
        'the replica to replay the new work into the list',
        30_000,
      );
      expect((await works.stats(new Date(0), new Date())).byState.QUEUED).toBe(1);
    } finally {
      await onReplica.end();
    }
  });
});
