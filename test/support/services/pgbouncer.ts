import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../disposable-services';
import { until } from '../until';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface DisposablePgBouncer {
  port: number;
  dir: string;
  /** A URL through the pooler for `database` as `user` (default postgres). */
  url(database: string, user?: string): string;
  /** kill -9: every client connection and every server connection drops at once. */
  kill(): void;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** kill -9, then start again: a pooler crash and its supervisor bringing it back. */
  restart(): Promise<void>;
  /** The `SHOW <what>` table of its admin console (POOLS, SERVERS, STATS…). */
  show(what: string): Array<Record<string, string>>;
  destroy(): void;
}

export interface PgBouncerOptions {
  /** PostgreSQL's port on 127.0.0.1 (every database name is passed through). */
  postgresPort: number;
  /** Server connections per (database, user): small, so clients really share them. */
  poolSize?: number;
  /** Users it lets in (trust: no password, but PgBouncer wants them listed). */
  users?: string[];
}

/**
 * Whether Debian's PgBouncer is here; if not, tries `apt-get install -y pgbouncer`
 * once (what .ci/run does). False only when it is neither installed nor installable.
 */
export function pgbouncerAvailable(): boolean {
  if (existsSync(PGBOUNCER_BIN)) return true;
  const apt = (...args: string[]) =>
    spawnSync('apt-get', args, {
      stdio: 'pipe',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  if (!apt('install', '-y', 'pgbouncer') && apt('update', '-q')) apt('install', '-y', 'pgbouncer');
  return existsSync(PGBOUNCER_BIN);
}

const isRoot = () => process.getuid?.() === 0;

/**
 * A PgBouncer of a test's own in transaction pooling mode, on a free port in a
 * temporary directory, in front of a disposable PostgreSQL. PgBouncer refuses to run as
 * root, so as root it switches to `postgres` (`-u`), which must own the directory.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<DisposablePgBouncer> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-pgbouncer-'));
  const port = await freePort();
  const users = ['postgres', ...(options.users ?? [])];
  writeFileSync(join(dir, 'userlist.txt'), users.map((u) => `"${u}" ""`).join('\n') + '\n');
  const conf = join(dir, 'pgbouncer.ini');
  writeFileSync(
    conf,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${options.postgresPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 4}`,
      'max_client_conn = 1000',
      // Clients queue for a server connection rather than fail while the pool is busy.
      'query_wait_timeout = 60',
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    for (const path of [dir, join(dir, 'userlist.txt'), conf]) chownSync(path, uid, gid);
  }
  const pidfile = join(dir, 'pgbouncer.pid');
  const pid = () => (existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : 0);
  const start = async () => {
    execFileSync(PGBOUNCER_BIN, ['-d', ...(isRoot() ? ['-u', 'postgres'] : []), conf], {
      stdio: 'pipe',
    });
    await until(() => accepts(port), `PgBouncer to listen on ${port}`, 20_000);
  };
  const kill = () => {
    const p = pid();
    if (p > 0) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    // A killed daemon leaves its pidfile, which would stop the next start.
    rmSync(pidfile, { force: true });
  };
  await start();
  return {
    port,
    dir,
    url: (database, user = 'postgres') => `postgresql://${user}@127.0.0.1:${port}/${database}`,
    kill,
    start,
    restart: async () => {
      kill();
      await until(async () => !(await accepts(port)), `PgBouncer on ${port} to go`, 10_000);
      await start();
    },
    show: (what) => adminShow(port, what),
    destroy: () => {
      kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The admin console speaks only the simple protocol: psql, not pg's extended queries. */
function adminShow(port: number, what: string): Array<Record<string, string>> {
  const out = execFileSync(
    'psql',
    ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'pgbouncer', '-A', '-F', '\t'],
    { input: `SHOW ${what};\n`, encoding: 'utf8' },
  );
  const [header, ...rows] = out.trim().split('\n');
  const names = (header ?? '').split('\t');
  return rows
    .filter((r) => !/^\(\d+ rows?\)$/.test(r))
    .map((r) => Object.fromEntries(r.split('\t').map((v, i) => [names[i] ?? String(i), v])));
}

/**
 * A login role for processes behind the pooler, set up as docs/scaling.md tells an
 * operator to: the pooler forwards no startup options, so the ledger's schema and the
 * timeouts for statements outside workgate's own transactions come from the role.
 * Superuser keeps the test short (the migrations create the pg_trgm extension).
 */
export async function createPooledRole(
  adminUrl: string,
  opts: { role: string; database: string; schema: string },
): Promise<void> {
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE "${opts.role}" LOGIN SUPERUSER`);
    await admin.query(
      `ALTER ROLE "${opts.role}" IN DATABASE "${opts.database}" SET search_path = "${opts.schema}"`,
    );
    await admin.query(`ALTER ROLE "${opts.role}" SET lock_timeout = '5s'`);
    await admin.query(`ALTER ROLE "${opts.role}" SET idle_in_transaction_session_timeout = '10s'`);
  } finally {
    await admin.end();
  }
}
