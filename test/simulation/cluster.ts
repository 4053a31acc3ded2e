import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { runMigrations } from '../../libs/ledger/src/migrations/migration-runner';
import {
  type DisposablePostgres,
  type DisposableRedis,
  freePort,
  startDisposablePostgres,
  startDisposableRedis,
} from '../support/disposable-services';
import { DIST } from '../support/paths';
import { type AppProcess, spawnApp } from '../support/processes';
import { until } from '../support/until';
import { type Durability, type Load, WORKERS } from './generator';
import { SIM_KINDS } from './program';

/**
 * The system under test, for real: a disposable PostgreSQL and Redis (ours to restart,
 * flush and freeze; never the machine's 5432/6379), one gateway and WORKERS worker
 * processes built from dist/. A process that exits while nobody asked it to is
 * recorded as a crash: that is a finding, not noise (a worker must survive outages).
 */

export const WEBHOOK_SECRET = 'whsec_c2ltdWxhdGlvbi1zZWNyZXQtbm90LWZvci1wcm9kdWN0aW9u';
export const API_TOKEN = `sim-${randomBytes(24).toString('hex')}`;
export const LEASE_MS = 2_000;
export const RECONCILE_MS = 300;
export const IDLE_IN_TRANSACTION_MS = 3_000;
const SIM_WORKFLOWS = join(DIST, 'test', 'support', 'workflows', 'sim.workflows.js');
const SERVICES_JS = join(DIST, 'test', 'support', 'disposable-services.js');

export interface Crash {
  proc: string;
  code: number | null;
  signal: string | null;
  at: number;
  tail: string[];
}

export class Services {
  private constructor(
    readonly pg: DisposablePostgres,
    readonly redis: DisposableRedis,
  ) {}

  static async start(): Promise<Services> {
    const [pg, redis] = await Promise.all([startDisposablePostgres(), startDisposableRedis()]);
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE workgate_sim');
    await admin.end();
    return new Services(pg, redis);
  }

  get databaseUrl(): string {
    return this.pg.url('workgate_sim');
  }

  /**
   * pg_ctl and redis-server restarts block (spawnSync) for seconds: run them in a child
   * node so this process keeps serving the counter and driving traffic meanwhile.
   */
  restartAsync(what: 'pg' | 'redis'): Promise<void> {
    const script =
      what === 'pg'
        ? `require(${JSON.stringify(SERVICES_JS)}).attachPostgres(${JSON.stringify(this.pg.dir)}, ${this.pg.port}).restart('immediate')`
        : `require(${JSON.stringify(SERVICES_JS)}).attachRedis(${JSON.stringify(this.redis.dir)}, ${this.redis.port}).restart()`;
    return new Promise((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { timeout: 90_000 }, (err, _out, stderr) =>
        err ? reject(new Error(`${what} restart failed: ${stderr || err.message}`)) : resolve(),
      ),
    );
  }

  destroy(): void {
    this.pg.destroy();
    this.redis.destroy();
  }
}

/** Resolves when the process logs `msg`; rejects with its output if it exits first. */
async function started(proc: AppProcess, msg: string): Promise<void> {
  await Promise.race([
    proc.waitForLog((l) => l.msg === msg, msg, 60_000),
    proc.exited.then(({ code }) => {
      if (!proc.logs.some((l) => l.msg === msg))
        throw new Error(`exited (${code}) before "${msg}": ${proc.text.slice(0, 6).join(' | ')}`);
    }),
  ]);
}

/** One run's processes, on a schema and Redis prefix of its own. */
export class Cluster {
  readonly schema = `sim_${randomBytes(4).toString('hex')}`;
  readonly prefix = `sim-${randomBytes(4).toString('hex')}`;
  readonly crashes: Crash[] = [];
  gateway!: AppProcess;
  gatewayUrl = '';
  readonly workers: AppProcess[] = [];
  /** Processes we are killing or stopping on purpose (their exit is no crash). */
  private readonly expected = new Set<AppProcess>();
  /** Every process this run started, killed ones too (their output is evidence). */
  private readonly all: AppProcess[] = [];
  private configPath = '';
  private gatewayPort = 0;
  private closing = false;

  constructor(
    readonly services: Services,
    private readonly load: Load,
    private readonly durability: Durability,
  ) {}

  async start(): Promise<void> {
    await runMigrations({ connectionString: this.services.databaseUrl, schema: this.schema });
    const dir = mkdtempSync(join(tmpdir(), 'wg-sim-'));
    this.configPath = join(dir, 'workgate.config.yaml');
    const source = (extra: string) =>
      `{ scheme: standard-webhooks, secrets: ["${WEBHOOK_SECRET}"], ${extra} }`;
    writeFileSync(
      this.configPath,
      [
        'worker:',
        `  lease: ${LEASE_MS}ms`,
        `  reconcileEvery: ${RECONCILE_MS}ms`,
        // A burst load: many runs at once, so group-committed statements carry many rows.
        `  concurrency: ${this.load === 'burst' ? 16 : 4}`,
        // A frozen worker's row locks last until PostgreSQL ends its idle transaction:
        // the lease-recovery monitor's grace (1.5 leases past expiry) assumes that is
        // shorter than it. The product's default (10 s) would flag that wait, which is
        // by design (SKIP LOCKED: only that one work waits), as a stall.
        'database:',
        `  idleInTransactionTimeout: ${IDLE_IN_TRANSACTION_MS}ms`,
        'webhooks:',
        '  sources:',
        `    starts: ${source(`workflow: ${SIM_KINDS[this.durability]}`)}`,
        `    replies: ${source('correlation: { pointer: /ref }')}`,
      ].join('\n'),
    );
    this.gatewayPort = await freePort();
    this.gatewayUrl = `http://127.0.0.1:${this.gatewayPort}`;
    await Promise.all([
      this.startGateway(),
      ...Array.from({ length: WORKERS }, (_, i) => this.startWorker(i)),
    ]);
  }

  private env(extra: Record<string, string>): Record<string, string> {
    return {
      DATABASE_URL: this.services.databaseUrl,
      WORKGATE_DB_SCHEMA: this.schema,
      REDIS_URL: this.services.redis.url,
      WORKGATE_QUEUE_PREFIX: this.prefix,
      WORKGATE_CONFIG: this.configPath,
      WORKGATE_WORKFLOWS: SIM_WORKFLOWS,
      WORKGATE_API_TOKEN: API_TOKEN,
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  /** Every process any cluster started, for killAll(). */
  private static readonly spawned: AppProcess[] = [];

  /** SIGKILLs every process still running (the simulator itself is going down). */
  static killAll(): void {
    for (const p of Cluster.spawned) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  }

  private watch(proc: AppProcess, name: string): AppProcess {
    this.all.push(proc);
    Cluster.spawned.push(proc);
    void proc.exited.then(({ code, signal }) => {
      if (this.closing || this.expected.has(proc)) return;
      this.crashes.push({
        proc: name,
        code,
        signal,
        at: Date.now(),
        // Its last words: the raw stderr (an uncaught error's stack) and error-level logs.
        tail: [
          // The error's own line (not indented like its stack frames), then the last lines.
          ...proc.text.filter((l) => /^\S.*error/i.test(l)).slice(-2),
          ...proc.text.slice(-3),
          ...proc.logs
            .filter((l) => l.level === 'error' || l.level === 'fatal')
            .slice(-2)
            .map((l) => JSON.stringify(l)),
        ],
      });
      // The run carries on without it being a second finding: bring it back (unless it
      // never started: a broken build or config would only loop).
      if (!proc.logs.some((l) => l.msg === 'worker started' || l.msg === 'gateway listening'))
        return;
      // A fault may kill the replacement while it boots: that start failing is no finding.
      void (
        name === 'gateway' ? this.startGateway() : this.startWorker(Number(name.slice(7)))
      ).catch(() => undefined);
    });
    return proc;
  }

  async startWorker(i: number): Promise<void> {
    const worker = this.watch(
      spawnApp('worker', this.env({ WORKER_ID: `sim-w${i}-${Date.now()}` })),
      `worker-${i}`,
    );
    this.workers[i] = worker;
    await started(worker, 'worker started');
  }

  async startGateway(): Promise<void> {
    this.gateway = this.watch(
      spawnApp('gateway', this.env({ PORT: String(this.gatewayPort), HOST: '127.0.0.1' })),
      'gateway',
    );
    await started(this.gateway, 'gateway listening');
  }

  async killWorker(i: number): Promise<void> {
    const w = this.workers[i]!;
    this.expected.add(w);
    await w.stop('SIGKILL');
    await this.startWorker(i);
  }

  async killGateway(): Promise<void> {
    this.expected.add(this.gateway);
    await this.gateway.stop('SIGKILL');
    await this.startGateway();
  }

  /**
   * SIGSTOP past its lease, then SIGCONT: a zombie that wakes up holding what it held.
   * Aimed (for up to 3 s) at a moment one of its connections is inside a transaction
   * that wrote, so it is frozen holding row locks — the case lease recovery must survive
   * and that a blind SIGSTOP would hit only by luck. `aimed` says whether it got one.
   */
  async freezeWorker(i: number, holdMs: number): Promise<{ aimed: boolean }> {
    const w = this.workers[i]!;
    const aimed = await this.untilInTransaction(w.child.pid ?? 0, 3_000);
    w.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, holdMs)); // the freeze itself is the fault
    w.child.kill('SIGCONT');
    return { aimed };
  }

  /** Polls until a PostgreSQL backend of process `pid` is in a transaction that holds a xid. */
  private async untilInTransaction(pid: number, withinMs: number): Promise<boolean> {
    const db = new Client({ connectionString: this.services.databaseUrl });
    db.on('error', () => undefined);
    try {
      await db.connect();
      const deadline = Date.now() + withinMs;
      while (Date.now() < deadline) {
        // The worker's own sockets to PostgreSQL (ss names the owning pid), matched to backends.
        const ports = await new Promise<number[]>((resolve) =>
          execFile('ss', ['-tnpH', 'dst', `127.0.0.1:${this.services.pg.port}`], (err, out) =>
            resolve(
              err
                ? []
                : out
                    .split('\n')
                    .filter((l) => l.includes(`pid=${pid},`))
                    .map((l) => Number(/127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:\d+/.exec(l)?.[1] ?? 0)),
            ),
          ),
        );
        const { rows } = await db.query(
          // Idle in a transaction that wrote: the server waits on the client, so the
          // locks stay held for as long as the client is frozen (a lone statement
          // would finish server-side and release them).
          `SELECT 1 FROM pg_stat_activity WHERE client_port = ANY($1::int[]) AND backend_xid IS NOT NULL AND state = 'idle in transaction'`,
          [ports],
        );
        if (rows.length) return true;
        await new Promise((r) => setTimeout(r, 10)); // sampling a moving target
      }
      return false;
    } catch {
      return false;
    } finally {
      await db.end().catch(() => undefined);
    }
  }

  /** Live, unfrozen workers are what lease recovery relies on. */
  aliveWorkers(): number {
    return this.workers.filter(
      (w) =>
        w.child.exitCode === null &&
        w.child.signalCode === null &&
        // One still booting (slow on a loaded machine) recovers nothing yet.
        w.logs.some((l) => l.msg === 'worker started'),
    ).length;
  }

  /** Every JSON log line and raw line the processes printed (for 40P01 and the like). */
  allOutput(): string[] {
    return this.all.flatMap((p) => [...p.text, ...p.logs.map((l) => JSON.stringify(l))]);
  }

  async stop(): Promise<void> {
    this.closing = true;
    for (const p of this.all) {
      p.child.kill('SIGCONT');
      await p.stop('SIGKILL');
    }
  }

  /** Waits until the gateway answers /health/live (after a restart of anything). */
  async gatewayUp(): Promise<void> {
    await until(
      async () => (await fetch(`${this.gatewayUrl}/health/live`)).ok,
      'the gateway to answer',
      30_000,
      100,
    );
  }
}
