import { type PoolClient } from 'pg';
import { toJsonbText, wrapStepOutput } from '@app/core';
import { StatementBatcher, translateDatabaseError } from '@app/ledger';
import { NonRetryableError } from '../workflow/workflow.errors';
import { type FencedTransactions } from './fenced-transaction';
import { doneValues, STEP_CHECKPOINT_BATCH } from './hot-path.sql';
import {
  type Checkpointed,
  type Outcome,
  type PendingCheckpoint,
  type RunHandle,
  type RunResources,
} from './run-resources';

/**
 * A run's checkpoints, in order: the queue of completed steps whose checkpoints are
 * not written yet (RunHandle.pending), the one write on its way (flushing), and the
 * sticky failure that ends the run. Every other write of the run goes through
 * `fenced`, which writes the pending checkpoints first, so nothing the run does after
 * a step is committed before that step's checkpoint.
 */
export class CheckpointSystem {
  constructor(
    private readonly resources: RunResources,
    private readonly transactions: FencedTransactions,
  ) {}

  /**
   * Checkpointing a step (what transition('step_completed') does when neither a pause
   * nor a cancel is pending: checkpointSeq forward, version + 1) with the step's output,
   * only while the run holds the lease: one statement shared by every run checkpointing
   * at the same time (STEP_CHECKPOINT_BATCH).
   */
  private readonly stepCheckpoints = new StatementBatcher<
    { run: RunHandle; steps: PendingCheckpoint[] },
    Checkpointed | undefined
  >(async (items) => {
    const { rows } = await this.resources.db.pool.query<
      Checkpointed & { id: string; leaseToken: string }
    >({ ...STEP_CHECKPOINT_BATCH, values: doneValues(items) });
    const byRun = new Map(rows.map((r) => [`${r.id}:${r.leaseToken}`, r]));
    return items.map((i) => {
      const row = byRun.get(`${i.run.workId}:${i.run.token}`);
      return row && { version: row.version, checkpointSeq: row.checkpointSeq };
    });
  });

  /**
   * The checkpoint: the step's output and the work's step_completed, together. It is
   * written with the run's next write (RunHandle.pending): a workflow goes from one
   * step straight to the next, so the two share a statement and a commit. Returns at
   * once; a failure to write it (a lost lease, a pause or cancel landing at this
   * boundary) ends the run at its next write.
   */
  async completeStep(
    run: RunHandle,
    step: { id: string; seq: number; name: string },
    output: unknown,
  ): Promise<void> {
    this.throwIfFailed(run);
    (run.pending ??= []).push({
      stepId: step.id,
      seq: step.seq,
      name: step.name,
      output: storedOutput(step.name, output),
    });
    // Nothing followed within this turn (the workflow awaits something else, or ran
    // steps side by side): written on its own.
    this.flushSoon(run);
  }

  /**
   * A `batched` step's checkpoint: its whole row (it has none yet), held with the run's
   * other pending checkpoints until the run's next write — a wait, a message, a model
   * call, a child, a `step` step, the end — or until the batch reaches `limits`, when
   * it goes out on its own. Nothing else of the run commits before it (settle).
   */
  completeBatched(
    run: RunHandle,
    step: PendingCheckpoint & { fresh: NonNullable<PendingCheckpoint['fresh']> },
    output: unknown,
    limits: { maxSteps: number; maxDelayMs: number },
  ): void {
    this.throwIfFailed(run);
    const pending = (run.pending ??= []);
    pending.push({ ...step, output: storedOutput(step.name, output) });
    // At the limit the batch goes now, not at the end of this turn: the next step's
    // body may run within this turn and would join a batch already full.
    if (pending.filter((p) => p.fresh).length >= limits.maxSteps) this.flushBatch(run);
    else if (!run.batchTimer) {
      run.batchTimer = setTimeout(() => {
        run.batchTimer = undefined;
        this.flushBatch(run);
      }, limits.maxDelayMs);
      // A run's end writes its batch itself; the timer must not hold a stopping worker.
      run.batchTimer.unref();
    }
  }

  /**
   * Writes the run's pending checkpoints, and waits until none is on its way; rethrows
   * what writing one threw (Suspend for a pause or cancel it landed, or LeaseLostError).
   * Every write but the two that carry checkpoints calls it first.
   */
  async settle(run: RunHandle): Promise<void> {
    for (;;) {
      this.throwIfFailed(run);
      if (run.flushing) await run.flushing;
      else if (run.pending?.length) this.flush(run);
      else return;
    }
  }

  /** A fenced transaction (FencedTransactions.run) after the run's pending checkpoints. */
  async fenced<T>(
    run: RunHandle,
    fn: (client: PoolClient, dispatches: Outcome) => Promise<T>,
    advisory: string[] = [],
  ): Promise<T> {
    await this.settle(run);
    return this.transactions.run(run, fn, advisory);
  }

  /** Waits for the checkpoint write on its way, if any (not for the ones pending). */
  async idle(run: RunHandle): Promise<void> {
    while (run.flushing) await run.flushing;
    this.throwIfFailed(run);
  }

  throwIfFailed(run: RunHandle): void {
    if (run.failed) throw run.failed.error;
  }

  /**
   * Makes `write` the run's checkpoint write on its way. Its failure is kept in
   * `failed` — never dropped, whoever waits — so the promise returned never rejects;
   * after it, the checkpoints gathered meanwhile go out.
   */
  track(run: RunHandle, write: Promise<unknown>): Promise<void> {
    const flushing = write.then(
      () => {
        run.flushing = undefined;
        // Batched steps alone wait for their limits (completeBatched); the rest go now.
        if (run.batchDue || run.pending?.some((p) => !p.fresh)) this.flushSoon(run);
      },
      (error: unknown) => {
        run.failed ??= { error };
        run.flushing = undefined;
      },
    );
    run.flushing = flushing;
    return flushing;
  }

  /** Checkpoints on their own: the shared statement, or the locked transition. */
  async write(run: RunHandle, steps: PendingCheckpoint[]): Promise<void> {
    // Hot path: one (shared) statement, above. Anything else — a pending pause or
    // cancel, a lost lease — takes the full transition.
    const done = await this.stepCheckpoints
      .submit({ run, steps })
      .catch((err: unknown) => translateDatabaseError(err));
    if (done) this.checkpointed(run, done);
    else await this.writeLocked(run, steps);
  }

  /**
   * Every step's output, then ONE step_completed to the highest seq: a pause or cancel
   * lands once, after all of them. It lands only where no step body of the run is
   * still running side by side (issue 13): those bodies finish and their checkpoints
   * join this write — else their side effects, done but refused a checkpoint, would
   * run again after the resume. (The hot path refused: a pause or cancel is pending,
   * or the lease is lost, when waiting only defers the LeaseLostError.)
   */
  async writeLocked(run: RunHandle, steps: PendingCheckpoint[]): Promise<void> {
    await this.bodiesEnded(run);
    const all = [...steps, ...(run.pending?.splice(0) ?? [])];
    return this.transactions.run(run, async (client, dispatches) => {
      for (const p of all)
        if (p.fresh)
          await this.resources.steps.insertCompleted(client, run.workId, run.workerId, {
            ...p,
            fresh: p.fresh,
          });
        else await this.resources.steps.completeJson(client, p.stepId, p.output);
      const last = all.reduce((a, b) => (b.seq > a.seq ? b : a));
      await this.transactions.stepCompleted(client, run, last.seq, last.name, dispatches);
    });
  }

  /**
   * A hot-path checkpoint moved the work's version on: so does the run's known row —
   * unless the version moved by more than this checkpoint, i.e. something else wrote
   * the row meanwhile: then the run no longer knows it (the completion takes the lock).
   */
  checkpointed(run: RunHandle, at: Checkpointed | undefined): void {
    if (!run.known || !at) return;
    run.known = at.version === run.known.version + 1 ? { ...run.known, ...at } : undefined;
  }

  /**
   * `body` (a step's body and its completeStep) counted as running until it settles:
   * a locked checkpoint write waits for it (writeLocked). The body must not wait for
   * a write of the run itself, or the two would wait for each other.
   */
  async running<T>(run: RunHandle, body: () => Promise<T>): Promise<T> {
    const bodies = (run.bodies ??= { running: 0 });
    bodies.running++;
    try {
      return await body();
    } finally {
      if (--bodies.running === 0) {
        bodies.ended?.resolve();
        bodies.ended = undefined;
      }
    }
  }

  /** Until no step body of the run is running. */
  private async bodiesEnded(run: RunHandle): Promise<void> {
    const bodies = run.bodies;
    while (bodies?.running) {
      if (!bodies.ended) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        bodies.ended = { promise, resolve };
      }
      await bodies.ended.promise;
    }
  }

  /** At the end of this turn of the event loop, unless a write took the checkpoints first. */
  private flushSoon(run: RunHandle): void {
    if (run.flushDue) return;
    run.flushDue = true;
    setImmediate(() => {
      run.flushDue = false;
      this.flush(run);
    });
  }

  /** A batch at its limits: written now, or right after the write on its way. */
  private flushBatch(run: RunHandle): void {
    run.batchDue = true;
    this.flush(run);
  }

  /** Every pending checkpoint in one write, unless one is on its way (it flushes after). */
  private flush(run: RunHandle): void {
    if (run.flushing || run.failed || !run.pending?.length) return;
    clearTimeout(run.batchTimer);
    run.batchTimer = undefined;
    run.batchDue = false;
    void this.track(run, this.write(run, run.pending.splice(0)));
  }
}

/**
 * The output as the JSON text jsonb takes, in the step's own run: a value that is not
 * JSON, or holds what jsonb refuses, fails this step with a clear error instead of the
 * statement it would have shared with other runs.
 */
function storedOutput(name: string, output: unknown): string {
  const stored = toJsonbText(wrapStepOutput(output));
  if (!stored.ok)
    throw new NonRetryableError(
      `step ${JSON.stringify(name)} returned a value that cannot be recorded: it ${stored.problem}`,
      'unstorable_output',
    );
  return stored.text;
}
