import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * PostgreSQL and Redis instances of a test run's own, on free ports in a temporary
 * directory, which fault tests and the simulation may stop, restart, freeze or wipe
 * freely: the machine's own services (and every other checkout testing at once) never
 * notice. Started with Debian's binaries the way ENVIRONMENT.md describes (PostgreSQL
 * refuses to run as root, so its binaries run as the `postgres` user when we are root).
 */

/** A port nothing listens on right now (bind to 0 and read it back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const path = join(root, v, 'bin', name);
    if (existsSync(path)) return path;
  }
  throw new Error(
    `PostgreSQL's ${name} was not found under ${root} (apt-get install -y postgresql)`,
  );
}

const isRoot = () => process.getuid?.() === 0;

/** Runs a PostgreSQL binary as `postgres` when we are root (initdb and postgres refuse root). */
function runPg(bin: string, args: string[], opts: { allowFail?: boolean } = {}): string {
  const [cmd, argv] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', pgBin(bin), ...args]]
    : [pgBin(bin), args];
  const res = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0 && !opts.allowFail)
    throw new Error(`${bin} ${args.join(' ')} failed (${res.status}): ${res.stderr || res.stdout}`);
  return res.stdout;
}

export interface DisposablePostgres {
  port: number;
  dir: string;
  /** A URL for `database` (default: `postgres`). */
  url(database?: string): string;
  /** Stops it (`-m fast` by default; `immediate` is a crash for recovery to deal with). */
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  restart(mode?: 'fast' | 'immediate'): void;
  /** Stops it and deletes its directory. */
  destroy(): void;
}

/** Attaches to an instance another process started (its directory and port). */
export function attachPostgres(dir: string, port: number): DisposablePostgres {
  const data = join(dir, 'data');
  const ctl = (...args: string[]) => runPg('pg_ctl', ['-D', data, ...args]);
  const start = () =>
    ctl(
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      'start',
    );
  return {
    port,
    dir,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    stop: (mode = 'fast') => void ctl('-m', mode, '-w', 'stop'),
    start: () => void start(),
    restart: (mode = 'fast') => {
      ctl('-m', mode, '-w', 'stop');
      start();
    },
    destroy: () => {
      runPg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { allowFail: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** initdb into a fresh temporary directory and start it on a free port (a few seconds). */
export async function startDisposablePostgres(): Promise<DisposablePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-pg-'));
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  runPg('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pg = attachPostgres(dir, await freePort());
  pg.start();
  return pg;
}

export interface DisposableRedis {
  port: number;
  dir: string;
  url: string;
  stop(): void;
  start(): void;
  restart(): void;
  destroy(): void;
}

/** How a disposable Redis is configured; the product requires noeviction, tests may not. */
export interface RedisOptions {
  maxmemory?: string;
  maxmemoryPolicy?: string;
}

export function attachRedis(
  dir: string,
  port: number,
  options: RedisOptions = {},
): DisposableRedis {
  const pidfile = join(dir, 'redis.pid');
  const memory = options.maxmemory ? ['--maxmemory', options.maxmemory] : [];
  const start = () =>
    execFileSync(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...memory,
        '--maxmemory-policy',
        options.maxmemoryPolicy ?? 'noeviction',
        '--daemonize',
        'yes',
        '--dir',
        dir,
        '--pidfile',
        pidfile,
        '--logfile',
        join(dir, 'redis.log'),
      ],
      { stdio: 'pipe' },
    );
  const stop = () => {
    // redis-cli reports the closed connection as an error after a successful shutdown.
    spawnSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'pipe' });
    for (let i = 0; i < 100 && isListening(port); i++) sleepSync(50);
  };
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start: () => {
      start();
      for (let i = 0; i < 100 && !isListening(port); i++) sleepSync(50);
    },
    restart: () => {
      stop();
      start();
      for (let i = 0; i < 100 && !isListening(port); i++) sleepSync(50);
    },
    destroy: () => {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startDisposableRedis(options: RedisOptions = {}): Promise<DisposableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-redis-'));
  const redis = attachRedis(dir, await freePort(), options);
  redis.start();
  return redis;
}

function isListening(port: number): boolean {
  return (
    spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() ===
    'PONG'
  );
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * A daemonized redis-server of a harness's own (cluster nodes, sentinel sets) on `port`,
 * its pidfile and log in `dir`; `args` add to the settings every test instance has.
 * Returns once it answers PING.
 */
export function spawnRedisServer(dir: string, port: number, args: string[] = []): void {
  execFileSync(
    'redis-server',
    [
      ...args,
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'yes',
      '--dir',
      dir,
      '--pidfile',
      join(dir, `redis-${port}.pid`),
      '--logfile',
      join(dir, `redis-${port}.log`),
    ],
    { stdio: 'pipe' },
  );
  for (let i = 0; i < 100 && !isListening(port); i++) sleepSync(50);
}

/** SIGKILLs a server spawnRedisServer started (a crash: no shutdown, no failover handshake). */
export function killRedisServer(dir: string, port: number): void {
  try {
    const pid = Number(readFileSync(join(dir, `redis-${port}.pid`), 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
