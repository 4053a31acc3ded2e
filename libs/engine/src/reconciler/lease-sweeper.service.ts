import { Inject, Injectable, Optional } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { ID_GENERATOR, type IdGenerator } from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import {
  type Dispatch,
  LedgerDatabase,
  WORK_DISPATCHER,
  type WorkDispatcher,
  WorkRepository,
} from '@app/ledger';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';

interface ExpiredRow {
  id: string;
  kind: string;
  leaseToken: string;
  /** PostgreSQL's now() (the transaction's start), on which the expiry was decided. */
  now: Date;
}

/**
 * Recovers works whose lease ran out: each goes back to the queue (or fails) by its
 * retry policy through `transition()`'s `lease_expired`.
 *
 * One pass is ONE transaction for every expired row it finds, and one dispatch after
 * it commits. Recovery matters most when workers are dying and the rest are busy: a
 * transaction per row queued behind the busy runs for a pooled connection each time
 * (seed 3 batched: ~0.8 s a row on a saturated machine, one work left 3.4 s past its
 * lease). Rows are locked `FOR UPDATE SKIP LOCKED`, so a row a frozen or dead holder
 * keeps locked (SIGSTOP, a long GC, a partition: its session idles in its transaction)
 * is skipped this pass, never waited on; PostgreSQL ends that session at
 * idle_in_transaction_session_timeout and a later pass sweeps the row. Each row's
 * transition runs under its own savepoint, so one row that fails (its ledger effects
 * hit lock_timeout, say) is left for the next pass without undoing the others.
 */
@Injectable()
export class LeaseSweeper {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {}

  /** Sweeps up to `limit` expired leases; returns how many works it moved on. */
  async sweep(limit: number): Promise<number> {
    const dispatches: Dispatch[] = [];
    const swept = await this.db.transaction(async (client) => {
      // Decided on PostgreSQL's clock (`now()`), as claims and heartbeats write expiries.
      const { rows } = await client.query<ExpiredRow>(
        `SELECT id, kind, "leaseToken", now() AS now FROM "Work"
         WHERE state = 'RUNNING' AND "leaseExpiresAt" < now()
         ORDER BY "leaseExpiresAt" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      const moved: ExpiredRow[] = [];
      for (const row of rows) {
        if (await this.expire(client, row, dispatches)) moved.push(row);
      }
      return moved;
    });
    if (!swept.length) return 0;
    for (const row of swept) this.metrics.leaseExpired(row.kind);
    this.logger.warn(
      { works: swept.length, workIds: swept.slice(0, 10).map((r) => r.id) },
      'leases expired; the works go back to the queue by their retry policy',
    );
    await this.dispatcher.dispatch(dispatches);
    return swept.length;
  }

  /** One row's `lease_expired`, under a savepoint; false when refused or failed. */
  private async expire(client: PoolClient, row: ExpiredRow, into: Dispatch[]): Promise<boolean> {
    await client.query('SAVEPOINT lease_sweep');
    try {
      const outcome = await this.works.apply(
        client,
        row.id,
        {
          type: 'lease_expired',
          token: BigInt(row.leaseToken),
          // The expiry was decided on PostgreSQL's clock; so is the transition's check.
          now: row.now.getTime(),
          random: this.ids.random(),
        },
        { actor: 'reconciler', data: { expiredToken: row.leaseToken } },
      );
      await client.query('RELEASE SAVEPOINT lease_sweep');
      if (outcome.ok) into.push(...outcome.dispatches);
      return outcome.ok;
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT lease_sweep');
      this.logger.warn(
        { workId: row.id, err: (err as Error).message },
        'lease sweep of a work failed; the next pass retries',
      );
      return false;
    }
  }
}
