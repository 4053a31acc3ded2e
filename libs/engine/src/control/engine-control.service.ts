import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  ID_GENERATOR,
  type IdGenerator,
  type IngestResult,
  type WorkCommand,
  WorkgateError,
  scopedExternalId,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import {
  AnswerValidator,
  type Dispatch,
  IngestService,
  LedgerDatabase,
  translateDatabaseError,
  WaitRepository,
  WORK_DISPATCHER,
  type WorkDispatcher,
  type WorkRow,
  WorkRepository,
} from '@app/ledger';

/**
 * An API start's dedupe key in the ledger: the caller's idempotency key scoped by the
 * `api` source, as every channel scopes its provider ids (scopedExternalId).
 */
export function apiStartExternalId(idempotencyKey: string): string {
  return scopedExternalId('api', idempotencyKey);
}

export interface ControlResult {
  workId: string;
  state: WorkRow['state'];
  event: string;
}

/**
 * What operators (API, CLI, chat commands) can do to a work: pause, resume, cancel,
 * retry, rerun from a step, signal a wait, start a workflow. Every action goes through
 * the state machine; a forbidden one is a 409 naming the current state. Each is
 * recorded in the timeline with who did it.
 */
@Injectable()
export class EngineControl {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly validator: AnswerValidator,
    private readonly ingest: IngestService,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  pause(workId: string, actor: string, reason?: string) {
    return this.command(workId, { type: 'pause' }, actor, { reason });
  }

  /** Back to the state it left; a timer that fell due while paused fires now. */
  resume(workId: string, actor: string, reason?: string) {
    return this.command(workId, { type: 'resume' }, actor, {
      reason,
      after: async (client, work, dispatches) => {
        if (work.state !== 'WAITING') return;
        const { rows } = await client.query<{
          id: string;
          escalationRung: number;
          timeoutAt: Date | null;
        }>(
          `SELECT id, "escalationRung", "timeoutAt" FROM "Wait" WHERE "workId" = $1 AND status = 'open' AND "timeoutAt" IS NOT NULL`,
          [workId],
        );
        // Due ones fire at once; the rest are re-armed (their jobs may have run while paused).
        for (const w of rows)
          dispatches.push({
            type: 'wait-timer',
            waitId: w.id,
            rung: w.escalationRung,
            at: Math.max(this.clock.now(), w.timeoutAt!.getTime()),
            replace: true,
          });
      },
    });
  }

  /** At once unless RUNNING; a running work stops at its next step boundary. */
  cancel(workId: string, actor: string, reason?: string) {
    return this.command(workId, { type: 'cancel' }, actor, { reason });
  }

  /** FAILED or CANCELLED → QUEUED; completed steps are kept, the run continues after them. */
  retry(workId: string, actor: string, reason?: string) {
    return this.command(workId, { type: 'retry' }, actor, { reason });
  }

  /** Keeps steps before `seq`, discards the rest, and runs again from there. */
  rerunFromStep(workId: string, seq: number, actor: string, reason?: string) {
    return this.command(workId, { type: 'rerun_from_step', seq }, actor, {
      reason,
      // The timeline says where the rerun started and which records it threw away:
      // they are deleted, so this entry is the only trace of them.
      data: async (client) => {
        const { rows } = await client.query<{ name: string }>(
          'SELECT name FROM "Step" WHERE "workId" = $1 AND seq >= $2 ORDER BY seq',
          [workId, seq],
        );
        return { fromSeq: seq, discarded: rows.map((r) => r.name) };
      },
    });
  }

  /**
   * Answers a wait with a payload (an operator, a test, a channel without its own
   * route). Validated against what the wait expects; an answer that loses the race
   * against the wait's timeout is refused (409), never applied twice.
   */
  async signal(
    workId: string,
    payload: unknown,
    actor: string,
    waitId?: string,
  ): Promise<ControlResult & { waitId: string }> {
    const dispatches: Dispatch[] = [];
    let result: ControlResult & { waitId: string };
    try {
      result = await this.db.transaction(async (client) => {
        // Lock order (docs/decisions.md): the work's row before its waits' rows, as
        // cancel and the timer take them; resolving the wait first deadlocked a cancel.
        await this.works.lock(client, workId);
        const open = (await this.waits.openForWork(client, workId)).filter(
          (w) => w.type !== 'timer' && w.type !== 'child',
        );
        const wait = waitId ? open.find((w) => w.id === waitId) : open[0];
        if (!wait) {
          const work = await this.works.find(client, workId);
          if (!work) throw new WorkgateError(ErrorCode.NotFound, `no work ${workId}`);
          throw new WorkgateError(
            ErrorCode.InvalidTransition,
            waitId
              ? `wait ${waitId} is not open`
              : `work ${workId} is ${work.state} and has no open wait to signal`,
            { state: work.state },
          );
        }
        const valid = this.validator.validate(wait.expects, payload);
        if (!valid.ok)
          throw new WorkgateError(
            ErrorCode.ValidationFailed,
            `the payload does not match what wait ${wait.id} expects: ${valid.error}`,
            { waitId: wait.id },
          );
        if (!(await this.waits.resolve(client, wait.id, 'satisfied', payload))) {
          throw new WorkgateError(
            ErrorCode.InvalidTransition,
            `wait ${wait.id} was resolved a moment ago (its timeout fired first)`,
            { waitId: wait.id },
          );
        }
        const applied = await this.works.apply(
          client,
          workId,
          { type: 'wait_satisfied' },
          { actor, data: { waitId: wait.id, signal: true } },
        );
        if (!applied.ok)
          throw new WorkgateError(ErrorCode.InvalidTransition, applied.reason, {
            state: applied.state,
          });
        dispatches.push(...applied.dispatches);
        return { workId, state: applied.row.state, event: 'signal', waitId: wait.id };
      });
    } catch (err) {
      if (err instanceof WorkgateError) throw err;
      translateDatabaseError(err);
    }
    await this.afterCommit(dispatches, workId);
    return result;
  }

  /** Starts a workflow directly (API, CLI), through the ordinary ingest path, deduped on the key. */
  async start(
    kind: string,
    input: unknown,
    opts: { actor: string; idempotencyKey?: string; conversationKey?: string; title?: string },
  ): Promise<IngestResult> {
    return this.ingest.ingest({
      channel: 'api',
      source: 'api',
      externalId: apiStartExternalId(opts.idempotencyKey ?? this.ids.uuid()),
      conversationKey: opts.conversationKey ?? null,
      correlationKey: null,
      actor: { id: opts.actor },
      raw: { kind, input },
      body: input,
      answer: input,
      reference: null,
      command: 'new',
      route: { openKind: kind, busyPolicy: 'inbox', collectWindowMs: 0 },
      ...(opts.title ? { title: opts.title } : {}),
    });
  }

  private async command(
    workId: string,
    command: WorkCommand,
    actor: string,
    hooks: {
      /** Extra timeline data, read under the work's row lock before the command applies. */
      data?: (client: PoolClient) => Promise<Record<string, unknown>>;
      after?: (client: PoolClient, work: WorkRow, dispatches: Dispatch[]) => Promise<void>;
      /**
       * The operator's reason: an `operator_note` entry in the same transaction, under
       * the row lock apply() holds. Written after the commit instead, it waited for
       * that lock again — behind a frozen worker, past lock_timeout — and the API
       * answered 500 for an action that had happened (found by the simulation).
       */
      reason?: string | undefined;
    } = {},
  ): Promise<ControlResult> {
    const dispatches: Dispatch[] = [];
    let result: ControlResult;
    try {
      result = await this.db.transaction(async (client) => {
        let data: Record<string, unknown> | undefined;
        if (hooks.data) {
          await this.works.lock(client, workId);
          data = await hooks.data(client);
        }
        const applied = await this.works.apply(client, workId, command, { actor, data });
        if (!applied.ok) {
          if (applied.code === 'no_work')
            throw new WorkgateError(ErrorCode.NotFound, `no work ${workId}`);
          throw new WorkgateError(ErrorCode.InvalidTransition, applied.reason, {
            state: applied.state,
          });
        }
        dispatches.push(...applied.dispatches);
        if (hooks.reason)
          await this.works.appendEvent(
            client,
            workId,
            'operator_note',
            { event: applied.event, reason: hooks.reason },
            actor,
          );
        await hooks.after?.(client, applied.row, dispatches);
        return { workId, state: applied.row.state, event: applied.event };
      });
    } catch (err) {
      if (err instanceof WorkgateError) throw err;
      translateDatabaseError(err);
    }
    this.logger.info(
      { workId, actor, command: command.type, state: result.state },
      `operator ${command.type}`,
    );
    await this.afterCommit(dispatches, workId);
    return result;
  }

  private async afterCommit(dispatches: Dispatch[], workId: string): Promise<void> {
    if (!dispatches.length) return;
    await this.dispatcher
      .dispatch(dispatches)
      .catch((err: Error) =>
        this.logger.warn(
          { workId, err: err.message },
          'enqueue after commit failed; the reconciler will retry',
        ),
      );
  }
}
