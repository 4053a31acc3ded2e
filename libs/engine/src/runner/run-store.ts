import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  CLOCK,
  type Clock,
  ID_GENERATOR,
  type IdGenerator,
  type RetryPolicy,
  stepIdempotencyKey,
  storableCopy,
  toJsonbText,
  waitMessageKey,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import {
  AnswerValidator,
  type ClaimResult,
  type Dispatch,
  LeaseService,
  LedgerDatabase,
  type NewWait,
  OutboxRepository,
  type StepRow,
  returnReadEvents,
  StatementBatcher,
  type StepType,
  StepRepository,
  completeStepSet,
  WaitRepository,
  WORK_DISPATCHER,
  type WorkDispatcher,
  type WorkRow,
  WorkRepository,
  translateDatabaseError,
} from '@app/ledger';
import { LeaseLostError, NonRetryableError, Suspend } from '../workflow/workflow.errors';
import { type LlmResponse } from '../workflow/workflow.types';

interface InboxRow {
  id: string;
  channel: string;
  source: string;
  decision: string;
  body: unknown;
  answer: unknown;
  receivedAt: Date;
  collectWindowMs: number | null;
  ageMs: number;
}

/**
 * Consecutive `collected` events form one burst; every other event stands alone. A
 * burst is open (not handed out yet) while its newest event is younger than its window.
 */
export function groupCollectedBursts(rows: InboxRow[]): Array<{ rows: InboxRow[]; open: boolean }> {
  const items: Array<{ rows: InboxRow[]; open: boolean }> = [];
  for (const row of rows) {
    const current = items.at(-1);
    if (row.decision === 'collected' && current?.rows[0]?.decision === 'collected')
      current.rows.push(row);
    else items.push({ rows: [row], open: false });
  }
  for (const item of items) {
    const newest = item.rows.at(-1)!;
    item.open = newest.decision === 'collected' && newest.ageMs < (newest.collectWindowMs ?? 0);
  }
  // Arrival order is kept: nothing after an open burst is handed out before it.
  const firstOpen = items.findIndex((i) => i.open);
  return firstOpen === -1 ? items : items.map((i, n) => ({ ...i, open: n >= firstOpen }));
}

/** The step ctx.inbox() records (workflow-run.ts names it so). */
const INBOX_STEP = '$inbox';

/** Who is writing: the run holding a work's lease. Every write presents its token. */
export interface RunHandle {
  workId: string;
  token: bigint;
  workerId: string;
  /**
   * The work's row as this run last wrote it, while nothing else is known to have
   * changed it: the completion is then decided on it without a lock (applyKnown).
   * Cleared by every write that takes the locked path.
   */
  known?: WorkRow;
  /**
   * Completed steps whose checkpoints are not written yet (completeStep), oldest first:
   * a list, because steps run side by side (Promise.all) complete side by side. They go
   * out together with the run's next write — the next step's start or the work's
   * completion, in the same statement — or on their own once this turn of the event
   * loop is over. Every other write writes them first (settle), so nothing the run does
   * after a step (a step body, a wait, a message, the end of the run) is committed
   * before its checkpoint.
   */
  pending?: PendingCheckpoint[];
  /**
   * The checkpoint write on its way. One at a time per run, so the writes land in
   * order and the known row's version moves by one each; checkpoints that complete
   * meanwhile gather in `pending` and go out together after it. Never rejects: its
   * error goes to `failed`.
   */
  flushing?: Promise<void>;
  /**
   * The first checkpoint write that failed (a pause or cancel landed at that boundary:
   * Suspend; a lost lease; the ledger unreachable). Sticky: the run is over, and every
   * later write of the run throws it, however many writes were in flight.
   */
  failed?: { error: unknown };
  /** A flush of `pending` is due at the end of this turn of the event loop. */
  flushDue?: boolean;
}

interface PendingCheckpoint {
  stepId: string;
  seq: number;
  name: string;
  /** The step's output, wrapped (see wrap), as the JSON text jsonb takes (toJsonbText). */
  output: string;
}

/** A step a batched statement starts: the run it belongs to, and the new row's fields. */
interface NewStepItem {
  run: RunHandle;
  id: string;
  seq: number;
  name: string;
  type: StepType;
}

/** $1–$8 of the batched statements that start steps: one array per column (unnest). */
const NEW_STEP_ARRAYS =
  '$1::uuid[], $2::bigint[], $3::uuid[], $4::int[], $5::text[], $6::"StepType"[], $7::text[], $8::text[]';
const NEW_STEP_COLUMNS = '"workId", token, id, seq, name, type, "idempotencyKey", "workerId"';

function newStepValues(items: NewStepItem[]): unknown[][] {
  return [
    items.map((i) => i.run.workId),
    items.map((i) => i.run.token.toString()),
    items.map((i) => i.id),
    items.map((i) => i.seq),
    items.map((i) => i.name),
    items.map((i) => i.type),
    items.map((i) => stepIdempotencyKey(i.run.workId, i.seq, i.id)),
    items.map((i) => i.run.workerId),
  ];
}

/** The unnest of the checkpoints a batched statement writes, one row per completed step. */
const DONE_INPUT = (from: number) =>
  `input AS (
         SELECT * FROM unnest($${from}::uuid[], $${from + 1}::bigint[], $${from + 2}::int[], $${from + 3}::uuid[], $${from + 4}::jsonb[])
           AS t("workId", token, "doneSeq", "doneId", output))`;

function doneValues(items: Array<{ run: RunHandle; steps: PendingCheckpoint[] }>): unknown[][] {
  const rows = items.flatMap((i) => i.steps.map((p) => ({ run: i.run, p })));
  return [
    rows.map((r) => r.run.workId),
    rows.map((r) => r.run.token.toString()),
    rows.map((r) => r.p.seq),
    rows.map((r) => r.p.stepId),
    rows.map((r) => r.p.output),
  ];
}

/**
 * Checkpoints on the hot path, as CTEs over an `input` of ("workId", token, "doneSeq",
 * "doneId", output), several rows per run when its steps ran side by side: per run,
 * what ONE transition('step_completed') to its highest seq does when neither a pause
 * nor a cancel is pending (checkpointSeq forward, version + 1), fenced on the run's
 * token; and every step's output only where its own run's update was made (the token
 * too: a zombie run of the same work in the same batch writes nothing). `w` returns
 * the works updated.
 */
const CHECKPOINT_CTES = `mark AS (
         SELECT "workId", token, max("doneSeq") AS "doneSeq" FROM input GROUP BY "workId", token),
       w AS (
         UPDATE "Work" SET "checkpointSeq" = GREATEST("checkpointSeq", mark."doneSeq"), version = version + 1, "updatedAt" = now()
         FROM mark
         WHERE "Work".id = mark."workId" AND "Work".state = 'RUNNING' AND "Work"."leaseToken" = mark.token
           AND NOT "Work"."pauseRequested" AND NOT "Work"."cancelRequested"
         RETURNING "Work".id, "Work".version, "Work"."checkpointSeq", "Work"."leaseToken"),
       done AS (
         UPDATE "Step" SET ${completeStepSet('input.output')}
         FROM input JOIN w ON w.id = input."workId" AND w."leaseToken" = input.token
         WHERE "Step".id = input."doneId" AND "Step"."workId" = input."workId")`;

/** What a hot-path checkpoint changed on the work. */
type Checkpointed = Pick<WorkRow, 'version' | 'checkpointSeq'>;

export type RunClaim =
  | { ok: true; token: bigint; work: WorkRow; steps: StepRow[] }
  | Extract<ClaimResult, { ok: false }>;

export interface WaitSpec {
  stepName: string;
  stepType: StepType;
  wait: Omit<NewWait, 'id' | 'workId' | 'stepSeq'>;
  /** Check the inbox first: a buffered event on this correlation key answers at once. */
  inboxCorrelationKey?: string;
  /** A prompt to send in the same transaction (ask). */
  prompt?: { channel: string; target: string; payload: Record<string, unknown> };
  /** Timer for the first rung (or the sleep itself). */
  timerAt?: number;
  /** A recorded step being run again (its old wait is replaced). */
  restartStepId?: string;
}

/** What a fenced transaction leaves for after its commit: jobs, and whether the run must stop. */
type Outcome = Dispatch[] & { stop?: 'paused' | 'cancelled' };

export type OpenWaitResult = { satisfied: true; value: unknown } | { satisfied: false };

/** Step outputs are stored wrapped, so `undefined` and `null` survive the JSON round trip. */
export const wrap = (value: unknown) => (value === undefined ? {} : { v: value });
export const unwrap = (stored: unknown): unknown => (stored as { v?: unknown } | null)?.v;

/**
 * Every ledger write a run makes, each in its own transaction that first re-reads the
 * work under a row lock and checks the run still holds the lease (fencing): a zombie
 * worker's late writes throw LeaseLostError instead of landing. Jobs are enqueued only
 * after the transaction commits.
 */
@Injectable()
export class RunStore {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly steps: StepRepository,
    private readonly waits: WaitRepository,
    private readonly outbox: OutboxRepository,
    private readonly validator: AnswerValidator,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly leases: LeaseService,
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
  async claim(workId: string, owner: string, leaseMs: number): Promise<RunClaim> {
    const { work, steps } = await this.steps
      .withWork(this.db.pool, workId)
      .catch((err: unknown) => translateDatabaseError(err));
    if (work?.state === 'QUEUED') {
      const applied = await this.works
        .applyKnown(
          this.db.pool,
          work,
          { type: 'claim', owner, leaseMs, now: this.clock.now() },
          { actor: `worker:${owner}`, data: { owner } },
        )
        .catch((err: unknown) => translateDatabaseError(err));
      if (applied !== 'stale') {
        if (!applied.ok)
          return {
            ok: false,
            code: applied.code,
            reason: applied.reason,
            runAfter: applied.row?.runAfter?.getTime() ?? null,
          };
        return { ok: true, token: BigInt(applied.row.leaseToken), work: applied.row, steps };
      }
    }
    const claimed = await this.leases.claim(workId, owner, leaseMs);
    if (!claimed.ok) return claimed;
    const loaded = await this.load(workId);
    if (!loaded) return { ok: false, code: 'no_work', reason: 'work vanished', runAfter: null };
    return { ok: true, token: claimed.token, work: claimed.work, steps: loaded.steps };
  }

  async load(workId: string): Promise<{ work: WorkRow; steps: StepRow[] } | null> {
    return this.tx(async (client) => {
      const work = await this.works.find(client, workId);
      if (!work) return null;
      return { work, steps: await this.steps.list(client, workId) };
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
    await this.fenced(run, (client) =>
      client.query('UPDATE "Work" SET "retryPolicy" = $2 WHERE id = $1', [
        run.workId,
        JSON.stringify(wanted),
      ]),
    );
  }

  /**
   * Records a step as running (new, or again after a crash or failure) before it runs:
   * a crash then shows where the run was, and the retry counts the attempt.
   */
  async startStep(
    run: RunHandle,
    seq: number,
    name: string,
    type: StepType,
    restart?: StepRow,
  ): Promise<StepRow> {
    // The previous steps' checkpoints and this step's start, in one statement. The
    // start's row is written only if the checkpoints are, and all commit before this
    // step's body runs. A checkpoint write on its way goes first (one at a time); the
    // ones gathered meanwhile then go with this start.
    if (!restart) await this.idle(run);
    const pending = !restart && run.pending?.length ? run.pending.splice(0) : undefined;
    if (pending) {
      const merged = this.checkpointAndStart
        .submit({ run, steps: pending, id: this.ids.uuid(), seq, name, type })
        .catch((err: unknown) => translateDatabaseError(err));
      // Nothing written means a pause or cancel waits at that boundary, or the lease
      // is gone: the checkpoints then take the locked path, which ends the run on a
      // pause or cancel (Suspend) or a lost lease.
      await this.track(
        run,
        merged.then(async (started) => {
          if (started) this.checkpointed(run, started.at);
          else await this.checkpointLocked(run, pending);
        }),
      );
      this.throwIfFailed(run);
      const started = await merged;
      if (started) return started.step;
    }
    if (restart)
      return this.fenced(run, (client) => this.steps.restart(client, restart.id, run.workerId));
    await this.settle(run);
    const row = await this.stepStarts
      .submit({ run, id: this.ids.uuid(), seq, name, type })
      .catch((err: unknown) => translateDatabaseError(err));
    if (!row) throw new LeaseLostError(run.workId);
    return row;
  }

  /**
   * The hot path's two statements, each shared by every run that needs it at the same
   * time (group commit, StatementBatcher: one statement and one commit per batch, each
   * row fenced on its own run's token; a run whose work moved on gets no row back).
   *
   * Starting a step: the insert selects the work FOR SHARE, so a concurrent claim (which
   * changes the token) waits for it or, if it committed first, makes this run's row
   * insert nothing — the same fencing as the locked transaction, in one round trip.
   */
  private readonly stepStarts = new StatementBatcher<NewStepItem, StepRow | undefined>(
    async (items) => {
      const { rows } = await this.db.pool.query<StepRow>({
        name: 'step-start-batch',
        text: `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
         SELECT i.id, w.id, i.seq, i.name, i.type, i."idempotencyKey", 'running', 1, i."workerId", now()
         FROM unnest(${NEW_STEP_ARRAYS}) AS i(${NEW_STEP_COLUMNS})
         JOIN "Work" w ON w.id = i."workId" AND w.state = 'RUNNING' AND w."leaseToken" = i.token
         FOR SHARE OF w
         RETURNING *`,
        values: newStepValues(items),
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return items.map((i) => byId.get(i.id));
    },
  );

  /**
   * A step's checkpoint and the next step's start together (see startStep): the
   * checkpoint's statement below, and the start's insert for the works it updated
   * (the UPDATE holds their row locks, so no claim can come between).
   */
  private readonly checkpointAndStart = new StatementBatcher<
    NewStepItem & { steps: PendingCheckpoint[] },
    { step: StepRow; at: Checkpointed } | undefined
  >(async (items) => {
    const { rows } = await this.db.pool.query<
      StepRow & { workVersion: number; workCheckpointSeq: number }
    >({
      name: 'step-checkpoint-start-batch',
      text: `WITH start AS (
         SELECT * FROM unnest(${NEW_STEP_ARRAYS}) AS s(${NEW_STEP_COLUMNS})),
       ${DONE_INPUT(9)},
       ${CHECKPOINT_CTES},
       started AS (
         INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, attempt, "workerId", "startedAt")
         SELECT start.id, w.id, start.seq, start.name, start.type, start."idempotencyKey", 'running', 1, start."workerId", now()
         FROM start JOIN w ON w.id = start."workId" AND w."leaseToken" = start.token
         RETURNING *)
       SELECT started.*, w.version AS "workVersion", w."checkpointSeq" AS "workCheckpointSeq"
       FROM started JOIN w ON w.id = started."workId"`,
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
   * Checkpointing a step (what transition('step_completed') does when neither a pause
   * nor a cancel is pending: checkpointSeq forward, version + 1) with the step's output,
   * only while the run holds the lease. Without a timeline entry: the Step row is the
   * record of a completed step.
   */
  private readonly stepCheckpoints = new StatementBatcher<
    { run: RunHandle; steps: PendingCheckpoint[] },
    Checkpointed | undefined
  >(async (items) => {
    const { rows } = await this.db.pool.query<Checkpointed & { id: string; leaseToken: string }>({
      name: 'step-checkpoint-batch',
      text: `WITH ${DONE_INPUT(1)},
       ${CHECKPOINT_CTES}
       SELECT * FROM w`,
      values: doneValues(items),
    });
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
   *
   * The output is turned into the JSON text jsonb takes here, in the step's own run:
   * a value that is not JSON, or holds what jsonb refuses, fails this step with a
   * clear error instead of the statement it would have shared with other runs.
   */
  async completeStep(
    run: RunHandle,
    step: { id: string; seq: number; name: string },
    output: unknown,
  ): Promise<void> {
    this.throwIfFailed(run);
    const stored = toJsonbText(wrap(output));
    if (!stored.ok)
      throw new NonRetryableError(
        `step ${JSON.stringify(step.name)} returned a value that cannot be recorded: it ${stored.problem}`,
        'unstorable_output',
      );
    (run.pending ??= []).push({
      stepId: step.id,
      seq: step.seq,
      name: step.name,
      output: stored.text,
    });
    // Nothing followed within this turn (the workflow awaits something else, or ran
    // steps side by side): written on its own.
    this.flushSoon(run);
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

  /** Waits for the checkpoint write on its way, if any (not for the ones pending). */
  private async idle(run: RunHandle): Promise<void> {
    while (run.flushing) await run.flushing;
    this.throwIfFailed(run);
  }

  private throwIfFailed(run: RunHandle): void {
    if (run.failed) throw run.failed.error;
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

  /** Every pending checkpoint in one write, unless one is on its way (it flushes after). */
  private flush(run: RunHandle): void {
    if (run.flushing || run.failed || !run.pending?.length) return;
    void this.track(run, this.writeCheckpoints(run, run.pending.splice(0)));
  }

  /**
   * Makes `write` the run's checkpoint write on its way. Its failure is kept in
   * `failed` — never dropped, whoever waits — so the promise returned never rejects;
   * after it, the checkpoints gathered meanwhile go out.
   */
  private track(run: RunHandle, write: Promise<unknown>): Promise<void> {
    const flushing = write.then(
      () => {
        run.flushing = undefined;
        if (run.pending?.length) this.flushSoon(run);
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
  private async writeCheckpoints(run: RunHandle, steps: PendingCheckpoint[]): Promise<void> {
    // Hot path: one (shared) statement, above. Anything else — a pending pause or
    // cancel, a lost lease — takes the full transition.
    const done = await this.stepCheckpoints
      .submit({ run, steps })
      .catch((err: unknown) => translateDatabaseError(err));
    if (done) this.checkpointed(run, done);
    else await this.checkpointLocked(run, steps);
  }

  /**
   * Every step's output, then ONE step_completed to the highest seq: a pause or cancel
   * lands once, after all of them. A step of the run still running side by side then
   * finds the run over, and runs again when the work does (its row stays `running`).
   */
  private checkpointLocked(run: RunHandle, steps: PendingCheckpoint[]): Promise<void> {
    return this.fencedNow(run, async (client, dispatches) => {
      for (const p of steps) await this.steps.completeJson(client, p.stepId, p.output);
      const last = steps.reduce((a, b) => (b.seq > a.seq ? b : a));
      await this.checkpoint(client, run, last.seq, last.name, dispatches);
    });
  }

  /**
   * ctx.llm's checkpoint: the step's output (the model's response), its ModelCall row
   * and, when the request was trimmed to fit, a timeline entry — in one transaction, so
   * a recorded response always has its cost and a cost never lacks its response.
   */
  async completeLlmStep(
    run: RunHandle,
    step: { id: string; seq: number; name: string },
    output: LlmResponse,
    call: { provider: string; promptHash: string },
  ): Promise<void> {
    await this.fenced(run, async (client, dispatches) => {
      await this.steps.complete(client, step.id, wrap(output));
      await client.query(
        `INSERT INTO "ModelCall" (id, "workId", "stepId", provider, model, "promptHash", "inputTokens",
           "outputTokens", "cachedTokens", "costUsd", "finishReason", "toolCalls", "latencyMs")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [
          this.ids.uuid(),
          run.workId,
          step.id,
          call.provider,
          output.model,
          call.promptHash,
          output.usage.inputTokens,
          output.usage.outputTokens,
          output.usage.cachedTokens,
          output.costUsd.toFixed(6),
          output.finishReason,
          output.message.toolCalls?.length ? JSON.stringify(output.message.toolCalls) : null,
          output.latencyMs,
        ],
      );
      if (output.trimmed > 0)
        await this.works.appendEvent(
          client,
          run.workId,
          'context_trimmed',
          { seq: step.seq, step: step.name, droppedMessages: output.trimmed },
          `worker:${run.workerId}`,
        );
      await this.checkpoint(client, run, step.seq, step.name, dispatches);
    });
  }

  /**
   * Errors are recorded whatever their messages hold: a NUL or an unpaired surrogate in
   * one (an error quoting bad data) is replaced rather than refused — a diagnostic
   * losing a character beats a failure that cannot be written at all.
   */
  async failStep(run: RunHandle, stepId: string, error: unknown): Promise<void> {
    await this.fenced(run, (client) => this.steps.fail(client, stepId, storableCopy(error)));
  }

  /** A step whose value is produced here (now, random, uuid, inbox): recorded and checkpointed at once. */
  async recordValue(
    run: RunHandle,
    seq: number,
    name: string,
    produce: (client: PoolClient) => Promise<unknown>,
  ): Promise<unknown> {
    return this.fenced(run, async (client, dispatches) => {
      const value = await produce(client);
      await this.steps.insert(client, {
        id: this.ids.uuid(),
        workId: run.workId,
        seq,
        name,
        type: 'task',
        status: 'completed',
        output: wrap(value),
        workerId: run.workerId,
      });
      await this.checkpoint(client, run, seq, name, dispatches);
      return value;
    });
  }

  /** A sleep that was already due when reached: recorded as a completed sleep step. */
  async recordSleep(run: RunHandle, seq: number): Promise<void> {
    await this.fenced(run, async (client, dispatches) => {
      await this.steps.insert(client, {
        id: this.ids.uuid(),
        workId: run.workId,
        seq,
        name: 'sleep',
        type: 'sleep',
        status: 'completed',
        output: {},
        workerId: run.workerId,
      });
      await this.checkpoint(client, run, seq, 'sleep', dispatches);
    });
  }

  /**
   * Takes the work's unconsumed inbox, oldest first (arrival order), and marks it
   * consumed. Events of the `collect` busy policy come as one event per burst (texts
   * joined by newlines); a burst still inside its debounce window stays in the inbox
   * for a later read.
   */
  async takeInbox(client: PoolClient, workId: string): Promise<unknown[]> {
    const { rows } = await client.query<InboxRow>(
      `SELECT id, channel, source, decision, body, answer, "receivedAt", "collectWindowMs",
              (EXTRACT(EPOCH FROM (now() - "receivedAt")) * 1000)::float8 AS "ageMs"
       FROM "InboundEvent"
       WHERE "workId" = $1 AND "consumedAt" IS NULL AND decision IN ('inbox', 'collected', 'interrupted')
       ORDER BY seq FOR UPDATE`,
      [workId],
    );
    const items = groupCollectedBursts(rows);
    const taken = items.filter((item) => !item.open);
    const ids = taken.flatMap((item) => item.rows.map((r) => r.id));
    if (ids.length)
      await client.query(
        'UPDATE "InboundEvent" SET "consumedAt" = now() WHERE id = ANY($1::uuid[])',
        [ids],
      );
    return taken.map(({ rows: burst }) => {
      const first = burst[0]!;
      const last = burst.at(-1)!;
      if (burst.length === 1)
        return {
          eventId: first.id,
          channel: first.channel,
          source: first.source,
          decision: first.decision,
          body: first.body,
          answer: first.answer,
          receivedAt: first.receivedAt.toISOString(),
        };
      const texts = burst.map((r) => (r.body as { text?: unknown } | null)?.text);
      const allText = texts.every((t): t is string => typeof t === 'string');
      return {
        eventId: first.id,
        eventIds: burst.map((r) => r.id),
        channel: first.channel,
        source: first.source,
        decision: 'collected',
        body: { text: allText ? texts.join('\n') : null, parts: burst.map((r) => r.body) },
        answer: allText ? texts.join('\n') : burst.map((r) => r.answer),
        receivedAt: last.receivedAt.toISOString(),
      };
    });
  }

  /**
   * ctx.send: the outbox row(s) and the checkpoint in one transaction; delivery after
   * commit. A message longer than its channel takes comes as `parts` (messageParts): one
   * row each, keyed by the step's key and the part number so a replay finds the same
   * rows, and each after the first names the row before it (`after`) so the outbox
   * sends them in order.
   */
  async send(
    run: RunHandle,
    seq: number,
    name: string,
    to: { channel: string; target: string; thread?: string },
    payload: Record<string, unknown>,
    parts: Array<Record<string, unknown>> = [payload],
  ): Promise<string> {
    return this.fenced(run, async (client, dispatches) => {
      const stepId = this.ids.uuid();
      // The step's key: a rerun's send is a new step row, so it sends again.
      const stepKey = stepIdempotencyKey(run.workId, seq, stepId);
      const rows: Array<{ id: string; attempts: number }> = [];
      for (const [i, part] of parts.entries()) {
        const after = rows.at(-1)?.id;
        rows.push(
          await this.outbox.insert(client, {
            id: this.ids.uuid(),
            workId: run.workId,
            stepId: null,
            channel: to.channel,
            target: to.target,
            payload: {
              ...part,
              ...(to.thread ? { thread: to.thread } : {}),
              ...(after ? { after } : {}),
            },
            idempotencyKey: parts.length === 1 ? stepKey : `${stepKey}:part:${i + 1}`,
          }),
        );
      }
      const ids = rows.map((r) => r.id);
      await this.steps.insert(client, {
        id: stepId,
        workId: run.workId,
        seq,
        name,
        type: 'send',
        status: 'completed',
        input: { to, payload },
        output: wrap({ outboxId: ids[0], ...(ids.length > 1 ? { outboxIds: ids } : {}) }),
        workerId: run.workerId,
      });
      await client.query('UPDATE "Outbox" SET "stepId" = $2 WHERE id = ANY($1::uuid[])', [
        ids,
        stepId,
      ]);
      await this.checkpoint(client, run, seq, name, dispatches);
      for (const row of rows)
        dispatches.push({ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 });
      return ids[0]!;
    });
  }

  /**
   * Opens a wait (sleep, waitFor, ask, budget): the step, the wait, an optional prompt
   * and the work's open_wait, in one transaction. waitFor first looks in the inbox
   * (under the correlation key's lock, the same lock ingest takes), so an event that
   * arrived before the wait is consumed now rather than lost.
   */
  async openWait(run: RunHandle, seq: number, spec: WaitSpec): Promise<OpenWaitResult> {
    return this.fenced(
      run,
      async (client, dispatches) => {
        const stepId = spec.restartStepId ?? this.ids.uuid();
        if (spec.restartStepId) {
          await this.waits.remove(client, run.workId, seq);
          await this.steps.restart(client, spec.restartStepId, run.workerId);
        } else {
          await this.steps.insert(client, {
            id: stepId,
            workId: run.workId,
            seq,
            name: spec.stepName,
            type: spec.stepType,
            status: 'running',
            workerId: run.workerId,
          });
        }
        const waitId = this.ids.uuid();
        if (spec.inboxCorrelationKey) {
          // The key's lock was taken before the work's row (fenced's `advisory`).
          const buffered = await this.findBuffered(
            client,
            run.workId,
            spec.inboxCorrelationKey,
            spec.wait.expects,
          );
          if (buffered) {
            await client.query(
              `UPDATE "InboundEvent" SET "consumedAt" = now(), "workId" = $2, "waitId" = $3 WHERE id = $1`,
              [buffered.id, run.workId, waitId],
            );
            await this.waits.insert(client, {
              ...spec.wait,
              id: waitId,
              workId: run.workId,
              stepSeq: seq,
              status: 'satisfied',
              result: buffered.answer,
              satisfiedByEventId: buffered.id,
            });
            await this.steps.complete(client, stepId, wrap(buffered.answer));
            await this.works.appendEvent(
              client,
              run.workId,
              'wait_satisfied_from_inbox',
              { waitId, eventId: buffered.id, seq },
              `worker:${run.workerId}`,
            );
            await this.checkpoint(client, run, seq, spec.stepName, dispatches);
            return { satisfied: true, value: buffered.answer };
          }
        }
        let promptRef: string | null = null;
        if (spec.prompt) {
          const prompt = await this.outbox.insert(client, {
            id: this.ids.uuid(),
            workId: run.workId,
            stepId,
            channel: spec.prompt.channel,
            target: spec.prompt.target,
            payload: { ...spec.prompt.payload, waitId },
            // Per wait, not per step: a step asked again (operator retry after a timeout,
            // rerun) opens a new wait, and its prompt must go out again carrying the new
            // wait's id; a step-only key would hand back the old, already sent row.
            idempotencyKey: waitMessageKey(run.workId, seq, waitId, 'prompt'),
          });
          promptRef = prompt.id;
          dispatches.push({ type: 'deliver', outboxId: prompt.id, attempt: prompt.attempts + 1 });
        }
        await this.waits.insert(client, {
          ...spec.wait,
          id: waitId,
          workId: run.workId,
          stepSeq: seq,
          promptRef,
          timeoutAt: spec.timerAt !== undefined ? new Date(spec.timerAt) : null,
        });
        const applied = await this.works.apply(
          client,
          run.workId,
          { type: 'open_wait', token: run.token, seq },
          {
            actor: `worker:${run.workerId}`,
            data: {
              waitId,
              waitType: spec.wait.type,
              seq,
              step: spec.stepName,
              timeoutAt: spec.timerAt ? new Date(spec.timerAt).toISOString() : null,
            },
            patch: { waitReason: spec.wait.type },
          },
        );
        if (!applied.ok) throw new LeaseLostError(run.workId);
        dispatches.push(...applied.dispatches);
        if (spec.timerAt !== undefined)
          dispatches.push({ type: 'wait-timer', waitId, rung: 0, at: spec.timerAt });
        return { satisfied: false };
      },
      spec.inboxCorrelationKey ? [`corr:${spec.inboxCorrelationKey}`] : [],
    );
  }

  /** ctx.child: the child work, the parent's child wait and open_wait, together. */
  async startChild(
    run: RunHandle,
    seq: number,
    name: string,
    kind: string,
    input: unknown,
    retryPolicy: RetryPolicy,
    conversationKey: string | null,
    restart?: StepRow,
  ): Promise<string> {
    return this.fenced(run, async (client, dispatches) => {
      if (restart) {
        await this.waits.remove(client, run.workId, seq);
        await this.steps.restart(client, restart.id, run.workerId);
      } else {
        await this.steps.insert(client, {
          id: this.ids.uuid(),
          workId: run.workId,
          seq,
          name,
          type: 'child',
          status: 'running',
          input: { kind, input },
          workerId: run.workerId,
        });
      }
      const childId = this.ids.uuid();
      const created = await this.works.create(
        client,
        {
          id: childId,
          kind,
          sourceType: 'child',
          sourceId: run.workId,
          conversationKey,
          parentId: run.workId,
          input,
          retryPolicy,
        },
        `work:${run.workId}`,
        { parentId: run.workId },
      );
      dispatches.push(...created.dispatches);
      const waitId = this.ids.uuid();
      await this.waits.insert(client, {
        id: waitId,
        workId: run.workId,
        stepSeq: seq,
        type: 'child',
        matchKeys: { childWorkId: childId },
      });
      const applied = await this.works.apply(
        client,
        run.workId,
        { type: 'open_wait', token: run.token, seq },
        {
          actor: `worker:${run.workerId}`,
          data: { waitId, childWorkId: childId, kind, seq },
          patch: { waitReason: 'child' },
        },
      );
      if (!applied.ok) throw new LeaseLostError(run.workId);
      dispatches.push(...applied.dispatches);
      return childId;
    });
  }

  async complete(run: RunHandle, output: unknown): Promise<void> {
    // Hot path: decided on the row this run last wrote (no lock, one statement, with
    // the last step's checkpoint when it is still pending); the locked transaction
    // when the row moved on or a parent waits for this work. Several checkpoints
    // pending (the last steps ran side by side) go out first, in their own statement.
    await this.idle(run);
    const pending = run.pending?.length ? run.pending.splice(0) : [];
    const only = pending.length === 1 ? pending[0] : undefined;
    if (pending.length) {
      let completed = false;
      await this.track(
        run,
        (async () => {
          completed = !!only && (await this.completeKnown(run, output, only));
          if (!completed) await this.writeCheckpoints(run, pending);
        })(),
      );
      this.throwIfFailed(run);
      if (completed) return;
    }
    await this.settle(run);
    if (await this.completeKnown(run, output)) return;
    await this.fenced(run, async (client, dispatches) => {
      const applied = await this.works.apply(
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
   * The completion decided on the run's known row, with `pending` (the last step's
   * checkpoint) in the same statement. False when there is no known row or it moved
   * on: the caller takes the locked path.
   */
  private async completeKnown(
    run: RunHandle,
    output: unknown,
    pending?: PendingCheckpoint,
  ): Promise<boolean> {
    if (!run.known) return false;
    const applied = await this.works
      .applyKnown(
        this.db.pool,
        pending
          ? { ...run.known, checkpointSeq: Math.max(run.known.checkpointSeq, pending.seq) }
          : run.known,
        { type: 'complete', token: run.token },
        {
          actor: `worker:${run.workerId}`,
          patch: { output: output ?? null },
          ...(pending && { step: { id: pending.stepId, output: pending.output } }),
        },
      )
      .catch((err: unknown) => translateDatabaseError(err));
    if (applied === 'stale') return false;
    if (!applied.ok) throw new LeaseLostError(run.workId);
    run.known = applied.row;
    await this.dispatchAfterCommit(run, applied.dispatches);
    return true;
  }

  async fail(
    run: RunHandle,
    error: { code?: string } & Record<string, unknown>,
    retryable: boolean,
    random: number,
  ): Promise<string> {
    // Recorded whatever the message holds (see failStep).
    error = storableCopy(error) as typeof error;
    return this.fenced(run, async (client, dispatches) => {
      const applied = await this.works.apply(
        client,
        run.workId,
        {
          type: 'fail',
          token: run.token,
          errorCode: error.code,
          retryable,
          now: this.clock.now(),
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
    await this.fenced(run, async (client, dispatches) => {
      const applied = await this.works.apply(
        client,
        run.workId,
        { type: 'release', token: run.token },
        { actor: `worker:${run.workerId}` },
      );
      if (applied.ok) dispatches.push(...applied.dispatches);
    }).catch((err: unknown) => {
      if (!(err instanceof LeaseLostError)) throw err;
    });
  }

  /**
   * The `interrupt` busy policy's restart: discards the steps from the last inbox read
   * (or, without one, from the step that was running), puts the events that read had
   * taken back into the inbox, and requeues the work. Returns the first discarded seq.
   */
  async restartForInterrupt(run: RunHandle): Promise<number | null> {
    return this.fenced(run, async (client, dispatches) => {
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
      await client.query(
        `UPDATE "Work" SET "interruptRequestedAt" = NULL, "checkpointSeq" = LEAST("checkpointSeq", $2) WHERE id = $1`,
        [run.workId, fromSeq === null ? 2_147_483_647 : fromSeq - 1],
      );
      await this.works.appendEvent(
        client,
        run.workId,
        'interrupted',
        { fromSeq, discarded: discarded.map((r) => r.name), eventsBackInInbox: retaken },
        `worker:${run.workerId}`,
      );
      const applied = await this.works.apply(
        client,
        run.workId,
        { type: 'release', token: run.token },
        { actor: `worker:${run.workerId}` },
      );
      if (!applied.ok) throw new LeaseLostError(run.workId);
      dispatches.push(...applied.dispatches);
      return fromSeq;
    });
  }

  async heartbeatStep(stepId: string): Promise<void> {
    await this.db.pool
      .query('UPDATE "Step" SET "heartbeatAt" = now() WHERE id = $1', [stepId])
      .catch(() => undefined);
  }

  private async checkpoint(
    client: PoolClient,
    run: RunHandle,
    seq: number,
    step: string,
    dispatches: Outcome,
  ): Promise<void> {
    const applied = await this.works.apply(
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

  private async findBuffered(
    client: PoolClient,
    workId: string,
    correlationKey: string,
    expects: unknown,
  ) {
    const { rows } = await client.query<{ id: string; answer: unknown }>(
      `SELECT id, answer FROM "InboundEvent"
       WHERE "correlationKey" = $1 AND "consumedAt" IS NULL AND decision = 'inbox' AND ("workId" IS NULL OR "workId" = $2)
       ORDER BY seq LIMIT 20`,
      [correlationKey, workId],
    );
    return rows.find((r) => this.validator.validate(expects, r.answer).ok);
  }

  /**
   * One fenced transaction: lock the work, check the run still holds its lease, run
   * `fn`, commit, then enqueue what it asked for. A checkpoint that landed a pause or
   * a cancel ends the run (Suspend) once its transaction has committed.
   */
  private async fenced<T>(
    run: RunHandle,
    fn: (client: PoolClient, dispatches: Outcome) => Promise<T>,
    advisory: string[] = [],
  ): Promise<T> {
    await this.settle(run);
    return this.fencedNow(run, fn, advisory);
  }

  /** fenced() for the pending checkpoint itself (settle() would wait for its own write). */
  private async fencedNow<T>(
    run: RunHandle,
    fn: (client: PoolClient, dispatches: Outcome) => Promise<T>,
    advisory: string[] = [],
  ): Promise<T> {
    const dispatches: Outcome = [];
    run.known = undefined;
    let result: T;
    try {
      result = await this.db.transaction(async (client) => {
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
    await this.dispatchAfterCommit(run, dispatches);
    if (dispatches.stop) throw new Suspend(dispatches.stop);
    return result;
  }

  private async dispatchAfterCommit(run: RunHandle, dispatches: Dispatch[]): Promise<void> {
    if (!dispatches.length) return;
    await this.dispatcher
      .dispatch(dispatches)
      .catch((err: Error) =>
        this.logger.warn(
          { workId: run.workId, err: err.message },
          'enqueue after commit failed; the reconciler will retry',
        ),
      );
  }

  /**
   * A hot-path checkpoint moved the work's version on: so does the run's known row —
   * unless the version moved by more than this checkpoint, i.e. something else wrote
   * the row meanwhile: then the run no longer knows it (the completion takes the lock).
   */
  private checkpointed(run: RunHandle, at: Checkpointed | undefined): void {
    if (!run.known || !at) return;
    run.known = at.version === run.known.version + 1 ? { ...run.known, ...at } : undefined;
  }

  private async tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(fn);
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
