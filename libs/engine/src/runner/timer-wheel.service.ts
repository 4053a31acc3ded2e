import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { CLOCK, type Clock } from '@app/core';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { LedgerDatabase, WaitRepository } from '@app/ledger';
import { BullmqDispatcher } from '../queues/bullmq-dispatcher';
import { WakeService } from './wake.service';

/** The most timers one worker holds armed; past it the rest wait for BullMQ's jobs. */
export const WHEEL_CAPACITY = 2_000;
/** The shortest gap between two scans, however small the lookahead. */
const MIN_SCAN_MS = 100;

/**
 * The timer wheel: every half `worker.timerLookahead` the worker reads the timers that
 * fall due within the lookahead (`WaitRepository.timersDueBy`, the `(status, timeoutAt)`
 * index) and arms an in-process timeout for each at its due millisecond, which fires it
 * through the wake job's own path (`WakeService.fireAndStart`: fire, and with a free run
 * slot claim and run the work in the same transaction).
 *
 * Why: a BullMQ delayed job is promoted by Redis polling (8 – 50 ms p50 – p99 measured,
 * docs/performance.md), before any of our work starts; a local timeout is the event
 * loop's own resolution. The delayed job stays armed as the backstop — for a worker that
 * dies with timers armed, a full wheel, or a timer opened less than a scan before it is
 * due — and is dropped once the wheel fired its timer (a job already running finds the
 * wait resolved).
 *
 * Never early and never twice: the fire re-reads the wait under the work's row lock and
 * checks the clock (an early timeout is re-armed for the rest); every worker's wheel and
 * every wake job go through that one check, so the first commit wins and the others
 * find the wait resolved ('stale').
 */
@Injectable()
export class TimerWheel implements OnApplicationBootstrap, OnApplicationShutdown {
  /** Armed or firing, by `waitId:rung` (a rung moved on is a new key; the old one goes stale). */
  private readonly armed = new Map<string, NodeJS.Timeout | 'firing'>();
  private readonly firing = new Set<Promise<void>>();
  /** Due while every fire slot was taken: fired in due order as slots free. */
  private readonly queued: Array<{ key: string; waitId: string; rung: number }> = [];
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: LedgerDatabase,
    private readonly waits: WaitRepository,
    private readonly wake: WakeService,
    private readonly jobs: BullmqDispatcher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private get lookahead(): number {
    return this.config.worker.timerLookahead;
  }

  onApplicationBootstrap(): void {
    if (this.lookahead <= 0) return;
    const every = Math.max(MIN_SCAN_MS, Math.floor(this.lookahead / 2));
    const tick = (): void => {
      if (this.stopped) return;
      this.scanning = this.scan()
        .then(() => undefined)
        .catch((err: Error) =>
          this.logger.warn({ err: err.message }, 'timer wheel scan failed; the next scan retries'),
        )
        .finally(() => {
          this.scanning = null;
          if (!this.stopped) this.scanTimer = setTimeout(tick, every);
        });
    };
    setImmediate(tick);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.scanTimer) clearTimeout(this.scanTimer);
    for (const t of this.armed.values()) if (t !== 'firing') clearTimeout(t);
    this.armed.clear();
    this.queued.length = 0;
    await this.scanning;
    await Promise.all(this.firing);
  }

  /** How many timers are armed or firing here (for tests and the bench). */
  get size(): number {
    return this.armed.size;
  }

  /** Reads the timers due within the lookahead and arms the ones not armed yet. */
  async scan(): Promise<number> {
    const room = WHEEL_CAPACITY - this.armed.size;
    if (room <= 0) return 0;
    const before = new Date(this.clock.now() + this.lookahead);
    const due = await this.waits.timersDueBy(this.db.pool, before, WHEEL_CAPACITY);
    let armed = 0;
    for (const t of due) if (this.arm(t.id, t.escalationRung, t.timeoutAt.getTime())) armed++;
    return armed;
  }

  private arm(waitId: string, rung: number, at: number): boolean {
    const key = `${waitId}:${rung}`;
    if (this.stopped || this.armed.has(key) || this.armed.size >= WHEEL_CAPACITY) return false;
    const timeout = setTimeout(
      () => this.fire(key, waitId, rung),
      Math.max(0, at - this.clock.now()),
    );
    this.armed.set(key, timeout);
    return true;
  }

  /** Fires at once, as many as the wake queue runs at once (queueConcurrency); the rest queue. */
  private get fireSlots(): number {
    return this.config.worker.concurrency * 2;
  }

  private fire(key: string, waitId: string, rung: number): void {
    if (this.stopped) return;
    this.armed.set(key, 'firing');
    if (this.firing.size >= this.fireSlots) {
      this.queued.push({ key, waitId, rung });
      return;
    }
    const done = this.wake
      .fireAndStart(waitId, rung)
      .then(({ result, run }) => {
        // The run goes on in the runner (which tracks it for shutdown); the key is free
        // once the fire committed, and a wait still open is found by the next scan.
        run?.catch((err: Error) =>
          this.logger.warn({ waitId, err: err.message }, 'run after a timer failed'),
        );
        this.armed.delete(key);
        // Fired here: its delayed job would only find the wait resolved.
        if (result === 'fired' || result === 'rung')
          this.jobs.dropTimer(waitId, rung).catch(() => undefined);
        // Early (the wall clock behind the timeout's): armed again for what is left.
        if (typeof result === 'object') this.arm(waitId, rung, result.at);
      })
      .catch((err: Error) => {
        this.armed.delete(key);
        this.logger.warn(
          { waitId, err: err.message },
          'timer wheel: firing failed; the next scan or the delayed job retries',
        );
      })
      .finally(() => {
        this.firing.delete(done);
        const next = this.queued.shift();
        if (next) this.fire(next.key, next.waitId, next.rung);
      });
    this.firing.add(done);
  }
}
