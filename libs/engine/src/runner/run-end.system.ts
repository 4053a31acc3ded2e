import { type PoolClient } from 'pg';
import { storableCopy } from '@app/core';
import { returnReadEvents, translateDatabaseError } from '@app/ledger';
import { LeaseLostError } from '../workflow/workflow.errors';
import { type CheckpointSystem } from './checkpoint.system';
import { type FencedTransactions } from './fenced-transaction';
import { INBOX_STEP } from './inbox.reader';
import { type PendingCheckpoint, type RunHandle, type RunResources } from './run-resources';

/**
 * How a run ends and gives its work up: completed (on the hot path when the run still
 * knows its row), failed (retried or not, by its policy), released to another worker,
 * or restarted by the `interrupt` busy policy. Each is a transition of the work,
 * fenced on the run's lease.
 */
export class RunEndSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly checkpoints: CheckpointSystem,
    private readonly transactions: FencedTransactions,
  ) {}

  async complete(run: RunHandle, output: unknown): Promise<void> {
    // Hot path: decided on the row this run last wrote (no lock, one statement, with
    // the checkpoints still pending: the last step's, the last steps run side by side,
    // or a batch's whole rows); the locked transaction when the row moved on or a
    // parent waits for this work.
    await this.checkpoints.idle(run);
    const pending = run.pending?.length ? run.pending.splice(0) : [];
    if (pending.length && (await this.completeWithCheckpoints(run, output, pending))) return;
    await this.checkpoints.settle(run);
    if (await this.completeKnown(run, output)) return;
    await this.checkpoints.fenced(run, async (client, dispatches) => {
      const applied = await this.resources.works.apply(
        client,
        run.workId,
        { type: 'complete', token: run.token },
        { actor: `worker:${run.workerId}`, patch: { output: output ?? null } },
      );
      if (!applied.ok) throw new LeaseLostError(run.workId);
      dispatches.push(...applied.dispatches);
    });
  }

  /**
   * The completion with the run's pending checkpoints in one statement; when it cannot
   * be decided on the known row, the checkpoints on their own first. True when the
   * work was completed; false leaves the completion to the caller.
   */
  private async completeWithCheckpoints(
    run: RunHandle,
    output: unknown,
    pending: PendingCheckpoint[],
  ): Promise<boolean> {
    clearTimeout(run.batchTimer);
    run.batchTimer = undefined;
    let completed = false;
    await this.checkpoints.track(
      run,
      (async () => {
        completed = await this.completeKnown(run, output, pending);
        if (!completed) await this.checkpoints.write(run, pending);
      })(),
    );
    this.checkpoints.throwIfFailed(run);
    return completed;
  }

  /**
   * The completion decided on the run's known row, with `pending` (checkpoints not yet
   * written) in the same statement: checkpointSeq moved to the highest, as one
   * step_completed before the completion would. False when there is no known row or
   * it moved on: the caller takes the locked path.
   */
  private async completeKnown(
    run: RunHandle,
    output: unknown,
    pending: PendingCheckpoint[] = [],
  ): Promise<boolean> {
    if (!run.known) return false;
    const highest = Math.max(run.known.checkpointSeq, ...pending.map((p) => p.seq));
    const applied = await this.resources.works
      .applyKnown(
        this.resources.db.pool,
        { ...run.known, checkpointSeq: highest },
        { type: 'complete', token: run.token },
        {
          actor: `worker:${run.workerId}`,
          patch: { output: output ?? null },
          steps: { token: run.token, workerId: run.workerId, list: pending },
        },
      )
      .catch((err: unknown) => translateDatabaseError(err));
    if (applied === 'stale') return false;
    if (!applied.ok) throw new LeaseLostError(run.workId);
    run.known = applied.row;
    await this.transactions.afterCommit(run, applied.dispatches);
    return true;
  }

  async fail(
    run: RunHandle,
    error: { code?: string } & Record<string, unknown>,
    retryable: boolean,
    random: number,
  ): Promise<string> {
    // Recorded whatever the message holds (see RunningStepSystem.fail).
    error = storableCopy(error) as typeof error;
    return this.checkpoints.fenced(run, async (client, dispatches) => {
      const applied = await this.resources.works.apply(
        client,
        run.workId,
        {
          type: 'fail',
          token: run.token,
          errorCode: error.code,
          retryable,
          now: this.resources.clock.now(),
          random,
        },
        {
          actor: `worker:${run.workerId}`,
          patch: { error },
          data: { error: { name: error.name, message: error.message, code: error.code } },
        },
      );
      if (!applied.ok) throw new LeaseLostError(run.workId);
      dispatches.push(...applied.dispatches);
      return applied.row.state;
    });
  }

  async release(run: RunHandle): Promise<void> {
    await this.checkpoints
      .fenced(run, async (client, dispatches) => {
        const applied = await this.applyRelease(client, run);
        if (applied.ok) dispatches.push(...applied.dispatches);
      })
      .catch((err: unknown) => {
        if (!(err instanceof LeaseLostError)) throw err;
      });
  }

  /**
   * The `interrupt` busy policy's restart: discards the steps from the last inbox read
   * (or, without one, from the step that was running), puts the events that read had
   * taken back into the inbox, and requeues the work. Returns the first discarded seq.
   */
  async restartForInterrupt(run: RunHandle): Promise<number | null> {
    return this.checkpoints.fenced(run, async (client, dispatches) => {
      const { fromSeq, discarded, retaken } = await this.discardFromLastRead(client, run);
      await client.query(
        // stepEpoch: the discarded positions get new batched-step keys (batched-step.util).
        `UPDATE "Work" SET "interruptRequestedAt" = NULL, "checkpointSeq" = LEAST("checkpointSeq", $2), "stepEpoch" = "stepEpoch" + 1 WHERE id = $1`,
        [run.workId, fromSeq === null ? 2_147_483_647 : fromSeq - 1],
      );
      await this.resources.works.appendEvent(
        client,
        run.workId,
        'interrupted',
        { fromSeq, discarded, eventsBackInInbox: retaken },
        `worker:${run.workerId}`,
      );
      const applied = await this.applyRelease(client, run);
      if (!applied.ok) throw new LeaseLostError(run.workId);
      dispatches.push(...applied.dispatches);
      return fromSeq;
    });
  }

  /** The steps (and their waits) from the last inbox read on, and the events those reads took back. */
  private async discardFromLastRead(client: PoolClient, run: RunHandle) {
    const { rows } = await client.query<{
      seq: number;
      name: string;
      status: string;
      output: unknown;
    }>('SELECT seq, name, status, output FROM "Step" WHERE "workId" = $1 ORDER BY seq', [
      run.workId,
    ]);
    const lastInbox = rows.filter((r) => r.name === INBOX_STEP).at(-1);
    const running = rows.find((r) => r.status !== 'completed');
    const fromSeq = lastInbox?.seq ?? running?.seq ?? null;
    const discarded = fromSeq === null ? [] : rows.filter((r) => r.seq >= fromSeq);
    // Every event the discarded reads took, each part of a collected burst included.
    const retaken = fromSeq === null ? 0 : await returnReadEvents(client, run.workId, fromSeq);
    if (fromSeq !== null) {
      await client.query('DELETE FROM "Wait" WHERE "workId" = $1 AND "stepSeq" >= $2', [
        run.workId,
        fromSeq,
      ]);
      await client.query('DELETE FROM "Step" WHERE "workId" = $1 AND seq >= $2', [
        run.workId,
        fromSeq,
      ]);
    }
    return { fromSeq, discarded: discarded.map((r) => r.name), retaken };
  }

  private applyRelease(client: PoolClient, run: RunHandle) {
    return this.resources.works.apply(
      client,
      run.workId,
      { type: 'release', token: run.token },
      { actor: `worker:${run.workerId}` },
    );
  }
}
