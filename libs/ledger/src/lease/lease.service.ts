import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { CLOCK, type Clock, type RejectionCode } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { type WorkRow } from '../work/work-row';
import { WorkRepository } from '../work/work.repository';

export type ClaimResult =
  | { ok: true; token: bigint; work: WorkRow }
  | { ok: false; code: RejectionCode; reason: string; runAfter: number | null };

/**
 * Leases: who may run a work right now. A claim hands out a new fencing token (the
 * previous one + 1) with an expiry; a run presents the token with every write, so a
 * worker that lost its lease (expired, swept, claimed by another) cannot land anything.
 */
@Injectable()
export class LeaseService {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async claim(workId: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const outcome = await this.tx((client) =>
      this.works.apply(
        client,
        workId,
        { type: 'claim', owner, leaseMs, now: this.clock.now() },
        { actor: `worker:${owner}`, data: { owner } },
      ),
    );
    if (!outcome.ok)
      return {
        ok: false,
        code: outcome.code,
        reason: outcome.reason,
        runAfter: outcome.row?.runAfter?.getTime() ?? null,
      };
    return { ok: true, token: BigInt(outcome.row.leaseToken), work: outcome.row };
  }

  /**
   * Extends the lease if, and only if, the caller still holds it. One conditional
   * UPDATE: a heartbeat changes no state, so it skips the transition bookkeeping and
   * the timeline (it runs every lease/3 for every running work).
   */
  async renew(workId: string, token: bigint, leaseMs: number): Promise<boolean> {
    return (await this.heartbeat(workId, token, leaseMs)).held;
  }

  /** renew(), also telling the run whether an operator asked to cancel it meanwhile. */
  async heartbeat(
    workId: string,
    token: bigint,
    leaseMs: number,
  ): Promise<{ held: boolean; cancelRequested: boolean; interruptRequested: boolean }> {
    try {
      // On PostgreSQL's clock, as claims and the sweep are (see WorkRepository).
      const res = await this.db.pool.query<{ cancelRequested: boolean; interrupt: boolean }>(
        `UPDATE "Work" SET "leaseExpiresAt" = now() + $3::int * interval '1 millisecond', "lastHeartbeatAt" = now()
         WHERE id = $1 AND state = 'RUNNING' AND "leaseToken" = $2
         RETURNING "cancelRequested", "interruptRequestedAt" IS NOT NULL AS interrupt`,
        [workId, token.toString(), Math.round(leaseMs)],
      );
      return {
        held: res.rowCount === 1,
        cancelRequested: res.rows[0]?.cancelRequested ?? false,
        interruptRequested: res.rows[0]?.interrupt ?? false,
      };
    } catch (err) {
      translateDatabaseError(err);
    }
  }

  private async tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(fn);
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
