import { type PoolClient } from 'pg';
import { type RejectionCode, type RetryPolicy } from '@app/core';
import {
  AS_CREATED_GUARD,
  asCreated,
  type StepRow,
  translateDatabaseError,
  type WorkRow,
} from '@app/ledger';
import { type CheckpointSystem } from './checkpoint.system';
import { type FencedTransactions } from './fenced-transaction';
import { type RunClaim, type RunHandle, type RunResources } from './run-resources';

/**
 * How a run begins: the work claimed under a new lease (fencing token) and its record
 * loaded for the replay, and the workflow's retry policy written onto the work.
 */
export class RunClaimSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly checkpoints: CheckpointSystem,
    private readonly transactions: FencedTransactions,
  ) {}

  /**
   * Claims a work and loads its record for a run. The common case, a QUEUED work, is
   * two round trips and one commit: the work and its steps read side by side (no
   * lock), then the claim decided on that row and written with its timeline entry in
   * one statement conditional on the version read (WorkRepository.applyKnown). While
   * a work is QUEUED no run holds it and nothing writes its steps, so an unchanged
   * version means the steps read are the ones to replay. Anything else — a lease to
   * take over, a row that moved on — takes the locked transaction, then loads.
   */
  async claim(
    workId: string,
    owner: string,
    leaseMs: number,
    opts: { asCreated?: boolean } = {},
  ): Promise<RunClaim> {
    if (opts.asCreated) {
      const claimed = await this.claimAsCreated(workId, owner, leaseMs);
      if (claimed) return claimed;
    }
    const { work, steps } = await this.resources.steps
      .withWork(this.resources.db.pool, workId)
      .catch((err: unknown) => translateDatabaseError(err));
    if (work?.state === 'QUEUED') {
      const claimed = await this.claimQueued(work, steps, owner, leaseMs);
      if (claimed) return claimed;
    }
    const claimed = await this.resources.leases.claim(workId, owner, leaseMs);
    if (!claimed.ok) return claimed;
    const loaded = await this.load(workId);
    if (!loaded) return { ok: false, code: 'no_work', reason: 'work vanished', runAfter: null };
    return { ok: true, token: claimed.token, work: claimed.work, steps: loaded.steps };
  }

  /**
   * The locked claim (LeaseService.claim's transition, the same `claim` command and
   * timeline entry) inside a transaction the caller holds, with the record loaded in it:
   * the wake job fires a timer and claims its work in one commit (WakeService). A
   * refusal writes nothing, so the caller's transaction carries on as if not asked.
   */
  async claimWithin(
    client: PoolClient,
    workId: string,
    owner: string,
    leaseMs: number,
  ): Promise<RunClaim> {
    const applied = await this.resources.works.apply(
      client,
      workId,
      ...this.claimCommand(owner, leaseMs),
    );
    if (!applied.ok) return refusedClaim(applied);
    const steps = await this.resources.steps.list(client, workId);
    return { ok: true, token: BigInt(applied.row.leaseToken), work: applied.row, steps };
  }

  /** The claim decided on the QUEUED row read; undefined when the row moved on meanwhile. */
  private async claimQueued(
    work: WorkRow,
    steps: StepRow[],
    owner: string,
    leaseMs: number,
  ): Promise<RunClaim | undefined> {
    const applied = await this.resources.works
      .applyKnown(this.resources.db.pool, work, ...this.claimCommand(owner, leaseMs))
      .catch((err: unknown) => translateDatabaseError(err));
    if (applied === 'stale') return undefined;
    if (!applied.ok) return refusedClaim(applied);
    return { ok: true, token: BigInt(applied.row.leaseToken), work: applied.row, steps };
  }

  /**
   * The claim of a work its creation enqueued, decided on the row as created (asCreated)
   * without reading it: one statement from the job to the claim. It lands only while
   * the row is still exactly as created and has no steps (AS_CREATED_GUARD); otherwise
   * — a cancel or pause got there first, a second job for a work already run — nothing
   * is written, and undefined sends the caller down the general path.
   */
  private async claimAsCreated(
    workId: string,
    owner: string,
    leaseMs: number,
  ): Promise<RunClaim | undefined> {
    const [command, entry] = this.claimCommand(owner, leaseMs);
    const applied = await this.resources.works
      .applyKnown(this.resources.db.pool, asCreated(workId), command, {
        ...entry,
        guard: AS_CREATED_GUARD,
      })
      .catch((err: unknown) => translateDatabaseError(err));
    if (applied === 'stale' || !applied.ok) return undefined;
    return { ok: true, token: BigInt(applied.row.leaseToken), work: applied.row, steps: [] };
  }

  /** The claim command and its timeline entry, the same on every claim path. */
  private claimCommand(owner: string, leaseMs: number) {
    return [
      { type: 'claim' as const, owner, leaseMs, now: this.resources.clock.now() },
      { actor: `worker:${owner}`, data: { owner } },
    ] as const;
  }

  private async load(workId: string): Promise<{ work: WorkRow; steps: StepRow[] } | null> {
    return this.transactions.read(async (client) => {
      const work = await this.resources.works.find(client, workId);
      if (!work) return null;
      return { work, steps: await this.resources.steps.list(client, workId) };
    });
  }

  /**
   * Works opened by the gateway carry the default retry policy (the gateway does not
   * load workflow code); the first run writes the workflow's own policy, fenced.
   */
  async syncRetryPolicy(run: RunHandle, current: RetryPolicy, wanted: RetryPolicy): Promise<void> {
    // Compared field by field: jsonb does not keep key order.
    const same = (Object.keys(wanted) as Array<keyof RetryPolicy>).every(
      (k) => JSON.stringify(current[k]) === JSON.stringify(wanted[k]),
    );
    if (same) return;
    await this.checkpoints.fenced(run, (client) =>
      client.query('UPDATE "Work" SET "retryPolicy" = $2 WHERE id = $1', [
        run.workId,
        JSON.stringify(wanted),
      ]),
    );
  }
}

/** A refused claim, as the run job reports it. */
function refusedClaim(applied: {
  code: RejectionCode;
  reason: string;
  row?: { runAfter: Date | null } | null;
}): RunClaim {
  return {
    ok: false,
    code: applied.code,
    reason: applied.reason,
    runAfter: applied.row?.runAfter?.getTime() ?? null,
  };
}
