import { type PoolClient } from 'pg';
import { type Dispatch, translateDatabaseError } from '@app/ledger';
import { LeaseLostError, Suspend } from '../workflow/workflow.errors';
import { type Outcome, type RunHandle, type RunResources } from './run-resources';

/**
 * The locked path every run write can fall back to: one transaction that locks the
 * work, checks the run still holds its lease (fencing), acts, commits, and only then
 * enqueues what it asked for. A zombie worker's late write throws LeaseLostError
 * instead of landing. (Callers wait for the run's pending checkpoints first:
 * CheckpointSystem.fenced; only the checkpoint write itself calls `run` directly.)
 */
export class FencedTransactions {
  constructor(private readonly resources: RunResources) {}

  /**
   * One fenced transaction, without waiting for the run's pending checkpoints. A
   * checkpoint that landed a pause or a cancel ends the run (Suspend) once its
   * transaction has committed.
   */
  async run<T>(
    run: RunHandle,
    fn: (client: PoolClient, dispatches: Outcome) => Promise<T>,
    advisory: string[] = [],
  ): Promise<T> {
    const dispatches: Outcome = [];
    run.known = undefined;
    let result: T;
    try {
      result = await this.resources.db.transaction(async (client) => {
        // Lock order (docs/decisions.md): advisory locks before the Work row. Ingest holds
        // a correlation key's lock while it locks a work, so taking them the other way
        // round here (the work, then the key) deadlocks against a reply on that key.
        if (advisory.length)
          await client.query({
            name: 'fenced-advisory',
            text: `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
              FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys`,
            values: [[...advisory].sort()],
          });
        const { rows } = await client.query<{ state: string; leaseToken: string }>(
          'SELECT state, "leaseToken" FROM "Work" WHERE id = $1 FOR UPDATE',
          [run.workId],
        );
        const work = rows[0];
        if (!work || work.state !== 'RUNNING' || BigInt(work.leaseToken) !== run.token)
          throw new LeaseLostError(run.workId);
        return fn(client, dispatches);
      });
    } catch (err) {
      if (err instanceof LeaseLostError) throw err;
      translateDatabaseError(err);
    }
    await this.afterCommit(run, dispatches);
    if (dispatches.stop) throw new Suspend(dispatches.stop);
    return result;
  }

  /**
   * Inside a fenced transaction: the work's step_completed to `seq`, through the state
   * machine (WorkRepository.apply), with its timeline entry.
   */
  async stepCompleted(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    step: string,
    dispatches: Outcome,
  ): Promise<void> {
    const applied = await this.resources.works.apply(
      client,
      run.workId,
      { type: 'step_completed', token: run.token, seq },
      { actor: `worker:${run.workerId}`, data: { seq, step } },
    );
    if (!applied.ok) throw new LeaseLostError(run.workId);
    dispatches.push(...applied.dispatches);
    // A pause or cancel requested while the step ran lands here, at its boundary; the
    // run ends once this transaction has committed.
    if (applied.effects.some((e) => e.type === 'stop_run')) {
      dispatches.stop = applied.row.state === 'CANCELLED' ? 'cancelled' : 'paused';
    }
  }

  /** Enqueues after a commit; a failure is left to the reconciler (the ledger holds the truth). */
  async afterCommit(run: RunHandle, dispatches: Dispatch[]): Promise<void> {
    if (!dispatches.length) return;
    await this.resources.dispatcher
      .dispatch(dispatches)
      .catch((err: Error) =>
        this.resources.logger.warn(
          { workId: run.workId, err: err.message },
          'enqueue after commit failed; the reconciler will retry',
        ),
      );
  }

  /** A transaction that reads (no lease to check), its errors translated. */
  async read<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.resources.db.transaction(fn);
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
