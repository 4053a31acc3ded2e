import { storableCopy } from '@app/core';
import { StatementBatcher, type StepRow, type StepType, translateDatabaseError } from '@app/ledger';
import { LeaseLostError } from '../workflow/workflow.errors';
import { type CheckpointSystem } from './checkpoint.system';
import {
  doneValues,
  newStepValues,
  type NewStepItem,
  STEP_CHECKPOINT_START_BATCH,
  STEP_START_BATCH,
} from './hot-path.sql';
import {
  type Checkpointed,
  type PendingCheckpoint,
  type RunHandle,
  type RunResources,
} from './run-resources';

/**
 * A step's row while its body runs: its start — batched with other runs' starts, and
 * with this run's pending checkpoints in the same statement — its heartbeats, and its
 * failure. (Its completion is a checkpoint: CheckpointSystem.)
 */
export class RunningStepSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly checkpoints: CheckpointSystem,
  ) {}

  /**
   * The hot path's two statements that start steps, each shared by every run that
   * needs it at the same time (group commit, StatementBatcher: one statement and one
   * commit per batch, each row fenced on its own run's token; a run whose work moved
   * on gets no row back). See hot-path.sql.ts for how each is fenced.
   */
  private readonly stepStarts = new StatementBatcher<NewStepItem, StepRow | undefined>(
    async (items) => {
      const { rows } = await this.resources.db.pool.query<StepRow>({
        ...STEP_START_BATCH,
        values: newStepValues(items),
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return items.map((i) => byId.get(i.id));
    },
  );

  /** A step's checkpoint and the next step's start together (see start). */
  private readonly checkpointAndStart = new StatementBatcher<
    NewStepItem & { steps: PendingCheckpoint[] },
    { step: StepRow; at: Checkpointed } | undefined
  >(async (items) => {
    const { rows } = await this.resources.db.pool.query<
      StepRow & { workVersion: number; workCheckpointSeq: number }
    >({
      ...STEP_CHECKPOINT_START_BATCH,
      values: [...newStepValues(items), ...doneValues(items)],
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return items.map((i) => {
      const row = byId.get(i.id);
      if (!row) return undefined;
      const { workVersion, workCheckpointSeq, ...step } = row;
      return { step, at: { version: workVersion, checkpointSeq: workCheckpointSeq } };
    });
  });

  /**
   * Records a step as running (new, or again after a crash or failure) before it runs:
   * a crash then shows where the run was, and the retry counts the attempt.
   */
  async start(
    run: RunHandle,
    seq: number,
    name: string,
    type: StepType,
    restart?: StepRow,
  ): Promise<StepRow> {
    if (restart)
      return this.checkpoints.fenced(run, (client) =>
        this.resources.steps.restart(client, restart.id, run.workerId),
      );
    // The previous steps' checkpoints and this step's start, in one statement. The
    // start's row is written only if the checkpoints are, and all commit before this
    // step's body runs. A checkpoint write on its way goes first (one at a time); the
    // ones gathered meanwhile then go with this start.
    await this.checkpoints.idle(run);
    const pending = run.pending?.length ? run.pending.splice(0) : undefined;
    if (pending) {
      const started = await this.startWithCheckpoints(run, pending, { seq, name, type });
      if (started) return started;
    }
    await this.checkpoints.settle(run);
    const row = await this.stepStarts
      .submit({ run, id: this.resources.ids.uuid(), seq, name, type })
      .catch((err: unknown) => translateDatabaseError(err));
    if (!row) throw new LeaseLostError(run.workId);
    return row;
  }

  /**
   * The start sharing a statement with the run's pending checkpoints; undefined when
   * the statement wrote nothing and the checkpoints were written on the locked path.
   */
  private async startWithCheckpoints(
    run: RunHandle,
    pending: PendingCheckpoint[],
    step: { seq: number; name: string; type: StepType },
  ): Promise<StepRow | undefined> {
    const merged = this.checkpointAndStart
      .submit({ run, steps: pending, id: this.resources.ids.uuid(), ...step })
      .catch((err: unknown) => translateDatabaseError(err));
    // Nothing written means a pause or cancel waits at that boundary, or the lease
    // is gone: the checkpoints then take the locked path, which ends the run on a
    // pause or cancel (Suspend) or a lost lease.
    await this.checkpoints.track(
      run,
      merged.then(async (started) => {
        if (started) this.checkpoints.checkpointed(run, started.at);
        else await this.checkpoints.writeLocked(run, pending);
      }),
    );
    this.checkpoints.throwIfFailed(run);
    return (await merged)?.step;
  }

  /**
   * Errors are recorded whatever their messages hold: a NUL or an unpaired surrogate in
   * one (an error quoting bad data) is replaced rather than refused — a diagnostic
   * losing a character beats a failure that cannot be written at all.
   */
  async fail(run: RunHandle, stepId: string, error: unknown): Promise<void> {
    await this.checkpoints.fenced(run, (client) =>
      this.resources.steps.fail(client, stepId, storableCopy(error)),
    );
  }

  /** A `batched` step that failed: its row written whole, failed, after the batch before it. */
  async failBatched(
    run: RunHandle,
    step: PendingCheckpoint & { fresh: NonNullable<PendingCheckpoint['fresh']> },
    error: unknown,
  ): Promise<void> {
    await this.checkpoints.fenced(run, (client) =>
      this.resources.steps.insertCompleted(
        client,
        run.workId,
        run.workerId,
        step,
        storableCopy(error),
      ),
    );
  }

  async heartbeat(stepId: string): Promise<void> {
    await this.resources.db.pool
      .query('UPDATE "Step" SET "heartbeatAt" = now() WHERE id = $1', [stepId])
      .catch(() => undefined);
  }
}
