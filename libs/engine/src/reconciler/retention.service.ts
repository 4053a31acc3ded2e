import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '@app/core';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { type DedupeCutoffs, RetentionRepository } from '@app/ledger';
import { type ReconcileContributor } from './reconciler.service';

export interface RetentionReport {
  works: number;
  inboundEvents: number;
  outbox: number;
  /** A batch came back full: there is more, and the next reconcile pass goes on. */
  backlog: boolean;
}

/**
 * Retention runs in the reconciler's loop rather than as a repeatable BullMQ job: the
 * reconciler already runs on exactly one worker (its Redis lease), on the ledger's
 * terms, and survives Redis losing its data; a job scheduler would add a second leader
 * mechanism for a task that needs none. A run starts every `retention.every`; it does
 * at most `batchesPerPass` batches per pass, so a large backlog spreads over several
 * passes (seconds apart) instead of holding up lease recovery and timers.
 */
@Injectable()
export class RetentionService implements ReconcileContributor {
  /** When the next run may start (this replica's view; a new leader starts at once). */
  private nextRunAt = 0;

  constructor(
    private readonly retention: RetentionRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async reconcile(): Promise<void> {
    const { after, every } = this.config.retention;
    if (after === undefined || this.clock.now() < this.nextRunAt) return;
    try {
      const report = await this.runOnce();
      this.nextRunAt = report.backlog ? 0 : this.clock.now() + every;
      if (report.works || report.inboundEvents || report.outbox)
        this.logger.info(report, 'retention deleted old rows');
    } catch (err) {
      // A batch that hit lock_timeout (or a lost connection) is retried next pass; the
      // batches before it are committed and stay done.
      this.logger.warn(
        { err: (err as Error).message },
        'retention batch failed; next pass retries',
      );
    }
  }

  /** Up to `batchesPerPass` batches: works first, then inbound events, then orphan outbox rows. */
  async runOnce(): Promise<RetentionReport> {
    const { after, batchSize, batchesPerPass } = this.config.retention;
    const report: RetentionReport = { works: 0, inboundEvents: 0, outbox: 0, backlog: false };
    if (after === undefined) return report;
    const now = this.clock.now();
    const before = new Date(now - after);
    const cutoffs = this.dedupeCutoffs(now);
    const kinds: Array<[keyof Omit<RetentionReport, 'backlog'>, () => Promise<number>]> = [
      ['works', () => this.retention.purgeWorks(before, batchSize)],
      ['inboundEvents', () => this.retention.purgeInbound(cutoffs, batchSize)],
      ['outbox', () => this.retention.purgeDetachedOutbox(before, batchSize)],
    ];
    let budget = batchesPerPass;
    for (const [kind, batch] of kinds) {
      for (;;) {
        if (budget-- <= 0) return { ...report, backlog: true };
        const n = await batch();
        report[kind] += n;
        if (n < batchSize) break;
      }
    }
    return report;
  }

  private dedupeCutoffs(now: number): DedupeCutoffs {
    const { telegram, slack, webhook, other } = this.config.retention.dedupe;
    const at = (ms: number) => new Date(now - ms);
    return {
      byChannel: { telegram: at(telegram), slack: at(slack), webhook: at(webhook) },
      other: at(other),
    };
  }
}
