import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { type Cluster, LEASE_MS } from './cluster';
import { type Fault, type Plan } from './generator';

/**
 * Injects a plan's faults at their offsets, and watches lease recovery meanwhile: a
 * work RUNNING on a lease that expired well ago, while a worker is alive, unfrozen and
 * no service is down, means recovery itself is stuck (e.g. the sweeper waiting on a row
 * lock a frozen worker holds) — something only visible during the fault, not after.
 */

export interface Injected {
  kind: Fault['kind'];
  worker: number;
  at: number;
  end: number;
  error?: string;
  /** How it went, when worth saying (a freeze that caught no transaction). */
  note?: string;
}

export interface Stall {
  at: number;
  works: string[];
  aliveWorkers: number;
}

/** How long past its expiry a lease may stay unswept before recovery counts as stuck. */
const STALL_GRACE_MS = LEASE_MS * 1.5;

export class FaultInjector {
  readonly injected: Injected[] = [];
  readonly stalls: Stall[] = [];
  private frozen = 0;
  /** Until when a service outage (and the reconnects after it) excuses slow recovery. */
  private outageUntil = 0;
  private monitoring = false;
  private monitorDone: Promise<void> = Promise.resolve();
  private readonly db: Pool;

  constructor(private readonly cluster: Cluster) {
    this.db = new Pool({
      connectionString: cluster.services.databaseUrl,
      options: `-c search_path="${cluster.schema}" -c statement_timeout=2000`,
      max: 1,
      connectionTimeoutMillis: 2_000,
    });
    this.db.on('error', () => undefined);
  }

  /**
   * Runs the faults one after another, each at its offset from t0 or as soon as the one
   * before it is over: two faults on one process at once (a kill landing on a worker
   * still starting after the previous kill) would make the schedule depend on timing.
   */
  async play(plan: Plan, t0: number, log: (line: string) => void): Promise<void> {
    for (const fault of plan.faults) {
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + fault.at - Date.now())));
      const entry: Injected = { kind: fault.kind, worker: fault.worker, at: Date.now(), end: 0 };
      this.injected.push(entry);
      try {
        entry.note = await this.inject(fault);
      } catch (err) {
        entry.error = (err as Error).message;
      }
      entry.end = Date.now();
      const target = fault.kind.includes('worker') ? ` w${fault.worker}` : '';
      const hold = fault.kind === 'stop-worker' ? ` for ${fault.holdMs}ms` : '';
      log(
        `  fault +${entry.at - t0}ms (planned +${fault.at}) ${fault.kind}${target}${hold}: ${entry.end - entry.at}ms` +
          (entry.note ? ` (${entry.note})` : '') +
          (entry.error ? ` FAILED: ${entry.error}` : ''),
      );
    }
  }

  private async inject(fault: Fault): Promise<string | undefined> {
    const services = this.cluster.services;
    switch (fault.kind) {
      case 'kill-worker':
        await this.cluster.killWorker(fault.worker);
        return undefined;
      case 'kill-gateway':
        await this.cluster.killGateway();
        return undefined;
      case 'stop-worker':
        this.frozen++;
        try {
          const { aimed } = await this.cluster.freezeWorker(fault.worker, fault.holdMs);
          return aimed ? 'frozen inside a writing transaction' : 'frozen outside any transaction';
        } finally {
          this.frozen--;
        }
      case 'redis-flushall': {
        const redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1 });
        try {
          await redis.flushall();
        } finally {
          redis.disconnect();
        }
        this.outageUntil = Date.now() + 3_000;
        return undefined;
      }
      case 'redis-restart':
        this.outageUntil = Number.MAX_SAFE_INTEGER;
        await services.restartAsync('redis');
        this.outageUntil = Date.now() + 8_000;
        return undefined;
      case 'pg-restart':
        this.outageUntil = Number.MAX_SAFE_INTEGER;
        await services.restartAsync('pg');
        this.outageUntil = Date.now() + 8_000;
        return undefined;
    }
  }

  startMonitor(): void {
    this.monitoring = true;
    this.monitorDone = (async () => {
      let streak: string[] = [];
      while (this.monitoring) {
        await new Promise((r) => setTimeout(r, 500));
        const alive = this.cluster.aliveWorkers() - this.frozen;
        if (alive < 1 || Date.now() < this.outageUntil) {
          streak = [];
          continue;
        }
        try {
          const { rows } = await this.db.query<{ id: string }>(
            `SELECT id FROM "Work" WHERE state = 'RUNNING' AND "leaseExpiresAt" < now() - make_interval(secs => $1)`,
            [STALL_GRACE_MS / 1000],
          );
          const ids = rows.map((r) => r.id);
          const still = ids.filter((id) => streak.includes(id));
          // Two samples in a row (a second apart) with the same works: not a passing race.
          if (still.length) this.stalls.push({ at: Date.now(), works: still, aliveWorkers: alive });
          streak = ids;
        } catch {
          streak = [];
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.monitoring = false;
    await this.monitorDone;
    await this.db.end().catch(() => undefined);
  }
}
