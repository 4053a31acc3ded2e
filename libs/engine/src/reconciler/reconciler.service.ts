import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from '@app/core';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import {
  LedgerDatabase,
  OutboxRepository,
  WaitRepository,
  WORK_DISPATCHER,
  type WorkDispatcher,
} from '@app/ledger';
import { BullmqDispatcher } from '../queues/bullmq-dispatcher';
import { REDIS } from '../queues/redis.module';
import { type RedisClient } from '../queues/redis-connection';
import { WakeService } from '../runner/wake.service';
import { LeaseSweeper } from './lease-sweeper.service';

/**
 * One reconciler is active across replicas: the holder of a Redis lease
 * (`SET … NX PX`), renewed every pass. A leader that freezes (SIGSTOP, a long GC, a
 * partition) stops renewing and loses the lease within a few passes, and another
 * replica takes over; a session-level database lock would stay with a frozen process
 * for as long as its connection lives. Everything a pass does is a conditional ledger
 * write or an idempotent enqueue, so a zombie leader's late actions are harmless.
 */
const RENEW_LEADERSHIP = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** A part of the rebuild other modules contribute (schedules re-register their job schedulers). */
export interface ReconcileContributor {
  reconcile(full: boolean): Promise<void>;
}
export const RECONCILE_CONTRIBUTORS = Symbol('RECONCILE_CONTRIBUTORS');

export interface ReconcileReport {
  leader: boolean;
  full: boolean;
  leasesExpired: number;
  worksEnqueued: number;
  timersFired: number;
  timersArmed: number;
  outboxEnqueued: number;
}

const PAGE = 500;
/**
 * The longest a pass's transaction waits for a row lock. A live holder (a run's fenced
 * write, an ingest) keeps one for milliseconds; a frozen one keeps it until PostgreSQL
 * ends its session. The pass goes through rows one after another, so waiting the full
 * lock_timeout (5 s) on each row a frozen worker holds would delay everything after it
 * — the next pass's lease sweep included — by seconds a row (the frozen-lock-holder
 * fault test). A row skipped here is retried by the next pass, and the wake job of a
 * timer still waits its full lock_timeout on its own.
 */
const PASS_LOCK_WAIT_MS = 250;
/** The shortest gap between two passes, however soon a lease runs out. */
const MIN_PASS_GAP_MS = 20;

/**
 * Redis is transport, never the truth. At worker start and every few seconds, one
 * reconciler (the holder of the Redis leadership lease above) brings the queues back
 * in line with the ledger: expired leases are swept (LeaseSweeper), QUEUED works get their job, due timers fire, pending outbox rows
 * are enqueued. When Redis has lost its data (FLUSHALL, a restart without
 * persistence: our marker key is gone), the pass is a full rebuild that also re-arms
 * every future timer and every pending delivery.
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private leading = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReconcileReport> | null = null;
  private stopped = false;
  /** When the earliest live lease runs out (as of the last pass this replica led). */
  private nextLeaseExpiry: number | null = null;

  constructor(
    private readonly db: LedgerDatabase,
    private readonly waits: WaitRepository,
    private readonly outbox: OutboxRepository,
    private readonly wake: WakeService,
    private readonly leases: LeaseSweeper,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    private readonly runs: BullmqDispatcher,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional()
    @Inject(RECONCILE_CONTRIBUTORS)
    private readonly contributors: ReconcileContributor[] = [],
  ) {
    this.workerId = `${config.env.WORKER_ID ?? 'worker'}:${process.pid}:${ids.uuid().slice(-8)}`;
  }

  private readonly workerId: string;

  onApplicationBootstrap(): void {
    const every = this.config.worker.reconcileEvery;
    const tick = () => {
      if (this.stopped) return;
      this.reconcile()
        .catch((err: Error) =>
          this.logger.warn({ err: err.message }, 'reconcile pass failed; next pass will retry'),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.untilNextPass(every));
        });
    };
    // First pass right away: a restarted worker picks up where the ledger says.
    setImmediate(tick);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    // Step down at once so another replica does not wait for the lease to run out.
    if (this.leading)
      await this.redis
        .eval(
          `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`,
          1,
          this.leaderKey(),
          this.workerId,
        )
        .catch(() => undefined);
  }

  /**
   * The next pass comes after `every`, or just after the earliest live lease runs out
   * if that is sooner: a work whose worker died is swept when its lease ends, not up to
   * a period later. Live runs renew at lease/3, so their expiry stays about two thirds
   * of a lease ahead and this adds no passes while workers are healthy.
   */
  private untilNextPass(every: number): number {
    if (this.nextLeaseExpiry === null) return every;
    return Math.max(MIN_PASS_GAP_MS, Math.min(every, this.nextLeaseExpiry - this.clock.now() + 5));
  }

  /** One pass (also used by tests and `workgate` maintenance). Overlapping calls share a pass. */
  reconcile(): Promise<ReconcileReport> {
    this.running ??= this.db
      .withLockWait(PASS_LOCK_WAIT_MS, () => this.pass())
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private leaderKey(): string {
    return `${this.config.env.WORKGATE_QUEUE_PREFIX}:reconciler:leader`;
  }

  private markerKey(): string {
    return `${this.config.env.WORKGATE_QUEUE_PREFIX}:reconciler:epoch`;
  }

  private async pass(): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      leader: false,
      full: false,
      leasesExpired: 0,
      worksEnqueued: 0,
      timersFired: 0,
      timersArmed: 0,
      outboxEnqueued: 0,
    };
    this.nextLeaseExpiry = null;
    if (!(await this.lead())) return report;
    report.leader = true;
    const marker = await this.redis.get(this.markerKey());
    report.full = marker === null;
    const now = this.clock.now();

    report.leasesExpired = await this.leases.sweep(PAGE);
    report.worksEnqueued = await this.enqueueQueued(now, report.full);
    report.timersFired = await this.fireDueTimers(now);
    if (report.full) report.timersArmed = await this.rearmTimers(now);
    report.outboxEnqueued = await this.enqueueOutbox(now, report.full);
    for (const contributor of this.contributors) await contributor.reconcile(report.full);
    const { rows } = await this.db.pool.query<{ at: Date | null }>(
      `SELECT min("leaseExpiresAt") AS at FROM "Work" WHERE state = 'RUNNING'`,
    );
    this.nextLeaseExpiry = rows[0]?.at?.getTime() ?? null;

    if (report.full) {
      await this.redis.set(this.markerKey(), String(now));
      this.logger.info(report, 'reconciler rebuilt the queues from the ledger');
    } else if (
      report.leasesExpired ||
      report.worksEnqueued ||
      report.timersFired ||
      report.outboxEnqueued
    ) {
      this.logger.info(report, 'reconciler repaired the queues');
    }
    return report;
  }

  /** Holds (renews) or takes the leadership lease; false when another replica leads. */
  private async lead(): Promise<boolean> {
    const ttl = Math.max(2_000, this.config.worker.reconcileEvery * 3);
    try {
      const renewed =
        this.leading &&
        (await this.redis.eval(RENEW_LEADERSHIP, 1, this.leaderKey(), this.workerId, ttl)) === 1;
      const taken =
        renewed ||
        (await this.redis.set(this.leaderKey(), this.workerId, 'PX', ttl, 'NX')) === 'OK';
      if (taken && !this.leading)
        this.logger.info({ workerId: this.workerId }, 'this worker is now the reconciler');
      if (!taken && this.leading)
        this.logger.warn(
          { workerId: this.workerId },
          'lost the reconciler lease to another worker',
        );
      this.leading = taken;
      return taken;
    } catch (err) {
      this.leading = false;
      this.logger.debug({ err: (err as Error).message }, 'reconciler leadership check failed');
      return false;
    }
  }

  private async enqueueQueued(now: number, full: boolean): Promise<number> {
    // Recently queued works have the job their transaction dispatched; only older ones
    // (or all, after Redis lost its data) are looked at. Job ids dedupe the rest.
    const olderThan = full
      ? new Date(now + 60_000)
      : new Date(now - this.config.worker.reconcileEvery);
    let total = 0;
    let afterId: string | null = null;
    for (;;) {
      const {
        rows,
      }: { rows: Array<{ id: string; runSeq: number; runAfter: Date | null; updatedAt: Date }> } =
        await this.db.pool.query(
          `SELECT id, "runSeq", "runAfter", "updatedAt" FROM "Work"
         WHERE state = 'QUEUED' AND "updatedAt" < $1 AND ($2::uuid IS NULL OR id > $2::uuid)
         ORDER BY id LIMIT $3`,
          [olderThan, afterId, PAGE],
        );
      if (!rows.length) break;
      const runs = rows.map((r) => ({
        workId: r.id,
        runSeq: r.runSeq,
        ...(r.runAfter && r.runAfter.getTime() > now ? { at: r.runAfter.getTime() } : {}),
      }));
      // QUEUED for longer than a lease: its job should have claimed it long ago, so it
      // may be stuck with a dead worker (see BullmqDispatcher.rescueRuns). The rest only
      // need their job to exist, which the job id dedupes.
      const stuckBefore = now - this.config.worker.lease;
      const stuck = rows.map((r) => r.updatedAt.getTime() < stuckBefore);
      await this.dispatcher.dispatch(
        runs.filter((_, i) => !stuck[i]).map((r) => ({ type: 'run' as const, ...r })),
      );
      await this.runs.rescueRuns(runs.filter((_, i) => stuck[i]));
      total += rows.length;
      afterId = rows[rows.length - 1]!.id;
      if (rows.length < PAGE) break;
    }
    return total;
  }

  /**
   * Due timers of waiting works, page by page (a page is keyed on the last wait seen,
   * so waits that do not fire cannot fill every page). One that fails (a lock held
   * past lock_timeout) is left for the next pass and does not stop the others.
   */
  private async fireDueTimers(now: number): Promise<number> {
    let fired = 0;
    let after: { timeoutAt: Date; id: string } | null = null;
    for (;;) {
      const due = await this.waits.due(this.db.pool, new Date(now), PAGE, after);
      for (const wait of due) {
        try {
          const outcome = await this.wake.fireWaitTimer(wait.id, wait.escalationRung);
          if (outcome === 'fired' || outcome === 'rung') fired++;
        } catch (err) {
          this.logger.warn(
            { waitId: wait.id, err: (err as Error).message },
            'firing an overdue timer failed; the next pass retries',
          );
        }
      }
      if (due.length < PAGE) break;
      const last = due[due.length - 1]!;
      after = { timeoutAt: last.timeoutAt!, id: last.id };
    }
    return fired;
  }

  private async rearmTimers(now: number): Promise<number> {
    let total = 0;
    let afterId: string | null = null;
    for (;;) {
      const page = await this.db.transaction((client) =>
        this.waits.scheduled(client, new Date(now), PAGE, afterId),
      );
      if (!page.length) break;
      await this.dispatcher.dispatch(
        page.map((w) => ({
          type: 'wait-timer' as const,
          waitId: w.id,
          rung: w.escalationRung,
          at: w.timeoutAt!.getTime(),
        })),
      );
      total += page.length;
      afterId = page[page.length - 1]!.id;
      if (page.length < PAGE) break;
    }
    return total;
  }

  private async enqueueOutbox(now: number, full: boolean): Promise<number> {
    let total = 0;
    let afterId: string | null = null;
    for (;;) {
      const page = await this.db.transaction((client) =>
        full
          ? this.outbox.pendingAfter(client, PAGE, afterId)
          : this.outbox.due(client, new Date(now), PAGE),
      );
      if (!page.length) break;
      await this.dispatcher.dispatch(
        page.map((o) => ({
          type: 'deliver' as const,
          outboxId: o.id,
          attempt: o.attempts + 1,
          at: o.nextAttemptAt.getTime(),
        })),
      );
      total += page.length;
      if (!full || page.length < PAGE) break;
      afterId = page[page.length - 1]!.id;
    }
    return total;
  }
}
