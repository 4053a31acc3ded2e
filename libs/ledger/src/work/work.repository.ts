import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type Queryable } from '../database/ledger-database';
import {
  CLOCK,
  type Clock,
  type Rejection,
  type RetryPolicy,
  type WorkCommand,
  type WorkEffect,
  type WorkEventType,
  type WorkSnapshot,
  isTerminal,
  transition,
  wrapStepOutput,
} from '@app/core';
import { MARK_UNREAD_CTE, markUnreadForReroute, returnReadEvents } from '../ingest/inbox.sql';
import { type Dispatch } from '../ports/work-dispatcher.port';
import {
  completeStepSet,
  type StepCheckpoint,
  stepCheckpointCtes,
} from '../steps/step-completion.sql';
import { NEW_WORK_COLUMNS, newWorkValues } from './new-work.sql';
import { type KnownWork, toSnapshot, type WorkRow } from './work-row';

export interface NewWork {
  id: string;
  kind: string;
  sourceType: string;
  sourceId: string | null;
  conversationKey: string | null;
  replyAddress?: { channel: string; target: string; thread?: string } | null;
  parentId?: string | null;
  input: unknown;
  retryPolicy: RetryPolicy;
  title?: string | null; // a few words (the API's `title`); null: named by kind and input
}

/** Fields a transition may carry besides the state machine's own. */
export interface WorkPatch {
  output?: unknown;
  error?: unknown;
  waitReason?: string | null;
}

/** The commands applyKnown() and planKnown() take (see planKnown). */
type KnownCommand = Extract<WorkCommand, { type: 'claim' | 'complete' | 'wait_satisfied' }>;

/** A transition's result: the row written, or the refusal with the row it was decided on. */
export type ApplyOutcome<K extends KnownWork = WorkRow> =
  | { ok: true; row: WorkRow; event: WorkEventType; effects: WorkEffect[]; dispatches: Dispatch[] }
  | (Rejection & { row: K | null });

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

// Re-exported: ingest's one-statement path writes new works with the same columns.
export { NEW_WORK_COLUMNS, NEW_WORK_TYPES, newWorkValues } from './new-work.sql';

/**
 * Every write to a Work row. Each change has the same shape: lock the row, read its
 * latest state, ask `transition()`, write the result with a conditional UPDATE and
 * append the timeline entry, all inside the caller's transaction.
 */
@Injectable()
export class WorkRepository {
  constructor(@Inject(CLOCK) private readonly clock: Clock) {}

  async lock(client: PoolClient, workId: string): Promise<WorkRow | null> {
    const { rows } = await client.query<WorkRow>('SELECT * FROM "Work" WHERE id = $1 FOR UPDATE', [
      workId,
    ]);
    return rows[0] ?? null;
  }

  async find(client: Queryable, workId: string): Promise<WorkRow | null> {
    // Named: a prepared statement per connection (no parse per run), as on every hot path.
    const { rows } = await client.query<WorkRow>({
      name: 'work-find',
      text: 'SELECT * FROM "Work" WHERE id = $1',
      values: [workId],
    });
    return rows[0] ?? null;
  }

  async create(client: PoolClient, work: NewWork, actor: string, data?: Record<string, unknown>) {
    const plan = this.planCreate(work);
    const { rows } = await client.query<WorkRow>(
      `INSERT INTO "Work" (${NEW_WORK_COLUMNS}) VALUES (${newWorkValues((i, t) => `$${i + 1}::${t}`)}) RETURNING *`,
      plan.values,
    );
    const row = rows[0]!;
    await this.appendEvent(client, row.id, 'created', { kind: work.kind, ...data }, actor);
    return { row, dispatches: plan.dispatches };
  }

  /**
   * What create() writes for a new work, for callers that write it as part of a larger
   * statement (ingest's one-statement path): the row's values, typed as NEW_WORK_TYPES, for
   * `newWorkValues()`, and the jobs to enqueue once it has committed.
   */
  planCreate(work: NewWork): { values: unknown[]; dispatches: Dispatch[] } {
    const result = transition(null, { type: 'create', retryPolicy: work.retryPolicy });
    if (!result.ok) throw new Error(`create rejected: ${result.reason}`);
    const s = result.next;
    return {
      values: [
        work.id,
        work.kind,
        s.state,
        work.sourceType,
        work.sourceId,
        work.conversationKey,
        work.parentId ?? null,
        json(work.input ?? null),
        s.attempt,
        json(s.retryPolicy),
        s.runSeq,
        work.replyAddress ? json(work.replyAddress) : null,
        work.title ?? null,
      ],
      dispatches: this.dispatchesFor(work.id, result.effects).map((d) =>
        d.type === 'run' ? { ...d, asCreated: true as const } : d,
      ),
    };
  }

  /**
   * Applies one command to one work. The row lock serializes writers; the UPDATE is
   * still conditional on the version read, so a write can never land on a state it
   * did not decide on.
   */
  async apply(
    client: PoolClient,
    workId: string,
    command: WorkCommand,
    opts: { actor: string; data?: Record<string, unknown>; patch?: WorkPatch },
  ): Promise<ApplyOutcome> {
    const row = await this.lock(client, workId);
    const result = transition(row ? toSnapshot(row) : null, command);
    if (!result.ok) return { ...result, row };
    const current = row!;
    const next = result.next;
    const patch = opts.patch ?? {};
    const heartbeat = command.type === 'claim' || command.type === 'heartbeat';
    const update = updateStatement(
      workId,
      current.version,
      next,
      patch,
      heartbeat,
      undefined,
      heartbeat ? command.leaseMs : undefined,
    );
    const { rows } = await client.query<WorkRow>(update.text, update.values);
    const updated = rows[0];
    if (!updated) throw new Error(`work ${workId} changed under its row lock`); // cannot happen: we hold FOR UPDATE
    if (result.event !== 'heartbeat') {
      await this.appendEvent(
        client,
        workId,
        result.event,
        { from: current.state, to: next.state, ...opts.data },
        opts.actor,
      );
    }
    const dispatches = this.dispatchesFor(workId, result.effects, next);
    dispatches.push(...(await this.applyLedgerEffects(client, updated, result.effects)));
    // A RUNNING work's cancel lands at the run's next heartbeat; the nudge makes that now.
    if (result.event === 'cancel_requested') dispatches.push({ type: 'nudge', workId });
    return { ok: true, row: updated, event: result.event, effects: result.effects, dispatches };
  }

  /**
   * apply() without the row lock, for a run's hot path (its claim and its completion):
   * the transition is decided on `known`, a row this caller read or wrote last, and
   * written with its timeline entry in ONE statement, conditional on the version —
   * so it lands only on the state it decided on, exactly as apply() does. Returns
   * `stale` when the row moved on (or the command needs ledger effects, or the timeline
   * seq raced a concurrent append): the caller then takes apply() in a transaction.
   */
  async applyKnown<K extends KnownWork>(
    db: Queryable,
    known: K,
    command: KnownCommand,
    opts: {
      actor: string;
      data?: Record<string, unknown>;
      patch?: WorkPatch;
      /** A further SQL condition on the row (planKnown's `guard`), named for the statement's name. */
      guard?: { name: string; sql: string };
      /**
       * Step checkpoints that go with this transition (the run's last steps, written
       * with its completion): each step's output — or a batched step's whole row — only
       * if the transition is written, by the run holding `token`.
       */
      steps?: { token: bigint; workerId: string; list: StepCheckpoint[] };
    },
  ): Promise<ApplyOutcome<K> | 'stale'> {
    // The step's checkpoint rides along only in step_completed's plain case, as the
    // checkpoint CTE's (no pause or cancel pending): otherwise that checkpoint is where
    // the pause or cancel lands, and a completion written over it would skip it. Found
    // by the differential test (state-machine-differential.int-spec.ts).
    const steps = opts.steps?.list.length ? opts.steps : undefined;
    if (steps && (known.pauseRequested || known.cancelRequested)) return 'stale';
    const plan = this.planKnown(known, command, opts, opts.guard?.sql);
    if (plan === 'stale' || !plan.ok) return plan;
    const { outcome, ctes, values } = plan;
    const writes =
      steps && stepCheckpointCtes(values.length, 'upd', { workId: known.id, ...steps });
    const rerouting = outcome.effects.some((e) => e.type === 'reroute_inbox');
    let rows: Array<WorkRow & { __rerouted?: number }>;
    try {
      ({ rows } = await db.query<WorkRow & { __rerouted?: number }>({
        // A claim's text carries its lease length (see updateStatement): a name of its own.
        name: `work-apply-known${
          steps ? '-steps' : command.type === 'claim' ? `-claim-${Math.round(command.leaseMs)}` : ''
        }${rerouting ? '-rr' : ''}${opts.guard ? `-${opts.guard.name}` : ''}`,
        text: `WITH ${ctes}${writes ? `, ${writes.text}` : ''}
${rerouting ? `, ${MARK_UNREAD_CTE}` : ''}
         SELECT upd.*${rerouting ? ', (SELECT count(*) FROM rr)::int AS "__rerouted"' : ''} FROM upd`,
        values: [...values, ...(writes?.values ?? [])],
      }));
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return 'stale';
      throw err;
    }
    const first = rows[0];
    if (!first) return 'stale';
    const { __rerouted, ...updated } = first;
    return {
      ...outcome,
      row: updated,
      dispatches: __rerouted
        ? [...outcome.dispatches, { type: 'reroute', workId: updated.id, runSeq: updated.runSeq }]
        : outcome.dispatches,
    };
  }

  /**
   * applyKnown()'s write, for a statement of the caller's: the transition decided on
   * `known`, as two CTEs — `upd`, the UPDATE conditional on the version read (and on
   * `guard`, a SQL condition of the caller's), RETURNING the row; `ev`, its timeline
   * entry, written only with it — over `values` ($1 to $26: the caller's parameters
   * follow). `stale` when the command needs what this cannot write (ledger effects, or
   * wait_satisfied on a work that is not WAITING); a refusal as apply() returns it.
   */
  planKnown<K extends KnownWork>(
    known: K,
    // Only these: a heartbeat renews the lease without a version change, so a command
    // that keeps the lease would write back an expiry older than the row's. A WAITING
    // work holds no lease (nothing heartbeats it), so wait_satisfied is sound for a
    // WAITING row only: on any other state this returns `stale` (the locked path).
    command: KnownCommand,
    opts: { actor: string; data?: Record<string, unknown>; patch?: WorkPatch },
    guard?: string,
  ):
    | {
        ok: true;
        outcome: Omit<Extract<ApplyOutcome, { ok: true }>, 'row'>;
        ctes: string;
        values: unknown[];
      }
    | Extract<ApplyOutcome<K>, { ok: false }>
    | 'stale' {
    if (command.type === 'wait_satisfied' && known.state !== 'WAITING') return 'stale';
    const result = transition(toSnapshot(known), command);
    if (!result.ok) return { ...result, row: known };
    const needsLedger = result.effects.some(
      (e) =>
        e.type === 'cancel_waits' ||
        e.type === 'discard_steps_from' ||
        (e.type === 'notify_parent' && known.parentId),
    );
    if (needsLedger) return 'stale';
    const next = result.next;
    const heartbeat = command.type === 'claim';
    const update = updateStatement(
      known.id,
      known.version,
      next,
      opts.patch ?? {},
      heartbeat,
      guard,
      command.type === 'claim' ? command.leaseMs : undefined,
    );
    return {
      ok: true,
      outcome: {
        ok: true,
        event: result.event,
        effects: result.effects,
        dispatches: this.dispatchesFor(known.id, result.effects, next),
      },
      // Each statement in a WITH sees the same snapshot: the timeline's MAX(seq) was
      // read before the UPDATE took the row lock, so an entry appended meanwhile under
      // that lock (without a version change) makes this insert a unique violation,
      // which rolls the whole statement back: the caller's cue to take the locked path.
      ctes: `upd AS (${update.text}),
         ev AS (
           INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
           SELECT upd.id, COALESCE((SELECT MAX(seq) FROM "WorkEvent" WHERE "workId" = $1), 0) + 1,
                  $23, $24, $25, $26
           FROM upd)`,
      values: [
        ...update.values,
        result.event,
        json({ from: known.state, to: next.state, ...opts.data }),
        opts.actor,
        new Date(this.clock.now()),
      ],
    };
  }

  /** Appends to the timeline. The caller holds the work's row lock (seq = max + 1 is safe). */
  async appendEvent(
    client: PoolClient,
    workId: string,
    type: string,
    data: unknown,
    actor: string,
  ): Promise<void> {
    await client.query(
      `INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
       SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5 FROM "WorkEvent" WHERE "workId" = $1`,
      [workId, type, json(data), actor, new Date(this.clock.now())],
    );
  }

  /** Effects that are ledger writes happen in the same transaction as the transition. */
  private async applyLedgerEffects(
    client: PoolClient,
    work: WorkRow,
    effects: WorkEffect[],
  ): Promise<Dispatch[]> {
    const workId = work.id;
    const dispatches: Dispatch[] = [];
    for (const effect of effects) {
      switch (effect.type) {
        case 'cancel_waits':
          await client.query(
            `UPDATE "Wait" SET status = 'cancelled', "resolvedAt" = now() WHERE "workId" = $1 AND status = 'open'`,
            [workId],
          );
          break;
        case 'discard_steps_from':
          // What the discarded inbox reads took is unread again (the rerun reads it anew).
          await returnReadEvents(client, workId, effect.seq);
          await client.query('DELETE FROM "Wait" WHERE "workId" = $1 AND "stepSeq" >= $2', [
            workId,
            effect.seq,
          ]);
          // The discarded positions are new positions now: batched steps taking them get
          // new ids and idempotency keys (they derive from the epoch, see batched-step.util).
          await client.query('DELETE FROM "Step" WHERE "workId" = $1 AND seq >= $2', [
            workId,
            effect.seq,
          ]);
          await client.query('UPDATE "Work" SET "stepEpoch" = "stepEpoch" + 1 WHERE id = $1', [
            workId,
          ]);
          break;
        case 'reroute_inbox':
          if (await markUnreadForReroute(client, workId))
            dispatches.push({ type: 'reroute', workId, runSeq: work.runSeq });
          break;
        case 'notify_parent':
          if (work.parentId)
            dispatches.push(...(await this.notifyParent(client, work, effect.outcome)));
          break;
        case 'enqueue':
        case 'schedule_retry':
        case 'stop_run':
        case 'fire_due_waits':
          break; // after commit, or the engine's concern
      }
    }
    return dispatches;
  }

  /**
   * A child finished: the parent's child wait gets its result and the parent runs
   * again, in the same transaction as the child's last transition (child row locked
   * first, then the parent's: always in that order).
   */
  private async notifyParent(
    client: PoolClient,
    child: WorkRow,
    outcome: 'COMPLETED' | 'FAILED' | 'CANCELLED',
  ): Promise<Dispatch[]> {
    const { rows } = await client.query<{ id: string; stepSeq: number }>(
      `SELECT id, "stepSeq" FROM "Wait"
       WHERE "workId" = $1 AND type = 'child' AND status = 'open' AND "matchKeys"->>'childWorkId' = $2`,
      [child.parentId, child.id],
    );
    const wait = rows[0];
    if (!wait) return [];
    // Lock order (docs/decisions.md): the parent's row before its wait's, as a cancel of
    // the parent takes them; the wait's UPDATE first made a cycle with that cancel.
    await this.lock(client, child.parentId!);
    const result = {
      workId: child.id,
      state: outcome,
      output: child.output ?? null,
      error: child.error ?? null,
    };
    await client.query(
      `UPDATE "Wait" SET status = 'satisfied', result = $2, "resolvedAt" = now() WHERE id = $1 AND status = 'open'`,
      [wait.id, JSON.stringify(result)],
    );
    await client.query(
      `UPDATE "Step" SET ${completeStepSet('$3')} WHERE "workId" = $1 AND seq = $2`,
      [child.parentId, wait.stepSeq, JSON.stringify(wrapStepOutput(result))],
    );
    const applied = await this.apply(
      client,
      child.parentId!,
      { type: 'wait_satisfied' },
      { actor: `work:${child.id}`, data: { childWorkId: child.id, outcome } },
    );
    return applied.ok ? applied.dispatches : [];
  }

  private dispatchesFor(workId: string, effects: WorkEffect[], next?: WorkSnapshot): Dispatch[] {
    const out: Dispatch[] = [];
    for (const effect of effects) {
      if (effect.type === 'enqueue') {
        const at = next?.runAfter ?? undefined;
        out.push(
          at !== undefined && at > this.clock.now()
            ? { type: 'run', workId, runSeq: effect.runSeq, at }
            : { type: 'run', workId, runSeq: effect.runSeq },
        );
      }
      if (effect.type === 'schedule_retry' && next) {
        out.push({
          type: 'retry',
          workId,
          runSeq: next.runSeq,
          attempt: effect.attempt,
          at: effect.at,
        });
      }
    }
    // A retry with a backoff is dispatched as the delayed job only, not as an immediate run.
    return out.some((d) => d.type === 'retry') ? out.filter((d) => d.type === 'retry') : out;
  }
}

function ms(value: number | null): Date | null {
  return value === null ? null : new Date(value);
}

/**
 * The conditional UPDATE every transition writes: the state machine's fields from
 * `next`, the patch's extra fields, only while the row still has the version read.
 */
function updateStatement(
  workId: string,
  version: number,
  next: WorkSnapshot,
  patch: WorkPatch,
  heartbeat: boolean,
  guard?: string,
  /**
   * A claim's or heartbeat's lease length: the expiry is written on PostgreSQL's clock
   * (`now()` + lease), the clock the sweep decides on, never on this process's (a worker
   * whose clock runs behind would write leases already expired, one ahead leases that
   * outlive it).
   */
  leaseMs?: number,
): { text: string; values: unknown[] } {
  // A literal, not a parameter: callers number their own parameters after these 22
  // (applyKnown's timeline entry, ingest's one-statement resume). An integer from the
  // config, so the text is the same for every claim of a process (named statements).
  const leaseExpiry =
    leaseMs === undefined
      ? '$9'
      : // $9 stays in the text, typed: PostgreSQL must still infer every parameter.
        `COALESCE(now() + ${String(Math.max(0, Math.round(leaseMs)))} * interval '1 millisecond', $9::timestamptz)`;
  return {
    text: `UPDATE "Work" SET
         state = $3::"WorkState", "pausedFrom" = $4::"WorkState", attempt = $5, "runSeq" = $6, "leaseOwner" = $7, "leaseToken" = $8,
         "leaseExpiresAt" = ${leaseExpiry},
         "runAfter" = $10, "pauseRequested" = $11, "cancelRequested" = $12,
         "checkpointSeq" = $13, version = $14, "updatedAt" = now(),
         "finishedAt" = CASE WHEN $15::boolean THEN now() ELSE NULL END,
         "lastHeartbeatAt" = CASE WHEN $16::boolean THEN now() ELSE "lastHeartbeatAt" END,
         output = CASE WHEN $17::boolean THEN $18::jsonb ELSE output END,
         error = CASE WHEN $19::boolean THEN $20::jsonb ELSE error END,
         "waitReason" = CASE WHEN $21::boolean THEN $22::text WHEN $3::"WorkState" = 'WAITING' THEN "waitReason" ELSE NULL END
       WHERE id = $1 AND version = $2${guard ? ` AND ${guard}` : ''}
       RETURNING *`,
    values: [
      workId,
      version,
      next.state,
      next.pausedFrom,
      next.attempt,
      next.runSeq,
      next.leaseOwner,
      next.leaseToken.toString(),
      ms(next.leaseExpiresAt),
      ms(next.runAfter),
      next.pauseRequested,
      next.cancelRequested,
      next.checkpointSeq,
      next.version,
      isTerminal(next.state),
      heartbeat,
      'output' in patch,
      json(patch.output),
      'error' in patch,
      json(patch.error),
      'waitReason' in patch,
      patch.waitReason ?? null,
    ],
  };
}
