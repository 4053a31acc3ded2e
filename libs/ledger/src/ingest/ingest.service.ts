import { Inject, Injectable, Optional } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  DEFAULT_RETRY_POLICY,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestDecision,
  type IngestResult,
  type RetryPolicy,
  type RouteCandidates,
  type RouteOutcome,
  type WaitCandidate,
  type WorkCandidate,
  type WorkState,
  route,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { type Dispatch, WORK_DISPATCHER, type WorkDispatcher } from '../ports/work-dispatcher.port';
import { WaitRepository } from '../waits/wait.repository';
import { WorkRepository } from '../work/work.repository';
import { AnswerValidator } from './answer-validator';
import { ChatRouting } from './chat-routing';

/** Where new works get their retry policy (the engine's workflow registry provides it). */
export interface WorkflowDefaults {
  retryPolicy(kind: string): RetryPolicy;
}
export const WORKFLOW_DEFAULTS = Symbol('WorkflowDefaults');

const DECISION_BY_OUTCOME: Record<RouteOutcome['decision'], IngestDecision> = {
  resume: 'resumed',
  inbox: 'inbox',
  collect: 'collected',
  interrupt: 'interrupted',
  reject: 'rejected',
  'ask-which': 'asked',
  open: 'opened',
  drop: 'dropped',
};

const LIVE: WorkState[] = ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED'];

interface WaitRow {
  id: string;
  workId: string;
  type: string;
  status: WaitCandidate['status'];
  correlationKey: string | null;
  expects: unknown;
  createdAt: Date;
}

type Applied = {
  decision: IngestDecision;
  reason: string;
  workId: string | null;
  waitId: string | null;
  dispatches: Dispatch[];
  feedback?: string;
};

interface ExistingEventRow {
  id: string;
  decision: IngestDecision;
  workId: string | null;
  waitId: string | null;
  reason: string;
}

/**
 * Turns a verified, normalized event into a ledger fact, in ONE transaction:
 * serialize on the conversation (advisory lock) → dedupe on (channel, externalId) →
 * load the candidates → route() → apply the decision → record it on the event.
 * Only after COMMIT are jobs enqueued, and only then may the channel answer 2xx.
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly validator: AnswerValidator,
    private readonly chat: ChatRouting,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(WORKFLOW_DEFAULTS) private readonly defaults?: WorkflowDefaults,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {}

  async ingest(event: InboundEventInput): Promise<IngestResult> {
    let dispatches: Dispatch[] = [];
    let result: IngestResult;
    try {
      result = await this.db.transaction(async (client) => {
        const outcome = await this.ingestInTransaction(client, event);
        dispatches = outcome.dispatches;
        return outcome.result;
      });
    } catch (err) {
      translateDatabaseError(err);
    }
    if (result.duplicate) {
      this.metrics.eventDuplicate(event.channel);
      this.logger.debug(
        { eventId: result.eventId, externalId: event.externalId },
        'duplicate delivery',
      );
      return result;
    }
    this.logger.info(
      {
        eventId: result.eventId,
        workId: result.workId,
        channel: event.channel,
        source: event.source,
        decision: result.decision,
      },
      `event ${result.decision}: ${result.reason}`,
    );
    // Counted once committed: every channel (webhooks, chat, schedules, the API) ingests here.
    this.metrics.eventIngested(event.channel, result.decision);
    await this.dispatchAfterCommit(dispatches, result);
    return result;
  }

  private async dispatchAfterCommit(dispatches: Dispatch[], result: IngestResult): Promise<void> {
    if (dispatches.length === 0) return;
    try {
      await this.dispatcher.dispatch(dispatches);
    } catch (err) {
      // Committed is committed: the reconciler enqueues QUEUED works that have no job.
      this.logger.warn(
        { eventId: result.eventId, workId: result.workId, err: (err as Error).message },
        'enqueue after commit failed; the reconciler will retry',
      );
    }
  }

  private async ingestInTransaction(client: PoolClient, input: InboundEventInput) {
    // Serialize per conversation (and per correlation key): two events for the same
    // conversation route one after the other, in arrival order. Keys are locked in a
    // fixed order so two events holding both keys cannot deadlock.
    const keys = [
      ...new Set(
        [input.conversationKey, input.correlationKey && `corr:${input.correlationKey}`].filter(
          (k): k is string => !!k,
        ),
      ),
    ].sort();
    for (const key of keys) {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
    }

    // Dedupe inside the transaction: a concurrent duplicate blocks on the unique index
    // until this transaction ends, then sees the conflict.
    const eventId = this.ids.uuid();
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", "correlationKey", actor, raw, body, answer, decision, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'dropped', 'routing')
       ON CONFLICT (channel, "externalId") DO NOTHING
       RETURNING id`,
      [
        eventId,
        input.channel,
        input.source,
        input.externalId,
        input.conversationKey,
        input.correlationKey,
        JSON.stringify(input.actor),
        JSON.stringify(input.raw ?? null),
        JSON.stringify(input.body ?? null),
        JSON.stringify(input.answer ?? null),
      ],
    );
    if (inserted.rowCount === 0) {
      const { rows } = await client.query<ExistingEventRow>(
        'SELECT id, decision, "workId", "waitId", reason FROM "InboundEvent" WHERE channel = $1 AND "externalId" = $2',
        [input.channel, input.externalId],
      );
      const existing = rows[0]!;
      return {
        dispatches: [] as Dispatch[],
        result: {
          eventId: existing.id,
          decision: existing.decision,
          workId: existing.workId,
          waitId: existing.waitId,
          reason: existing.reason,
          duplicate: true,
        },
      };
    }

    // Chat inputs (a button, a reply to our message, /status, /cancel, a pick) become
    // explicit references, or are answered right here.
    const prepared = await this.chat.prepare(client, eventId, input);
    if (prepared.kind === 'handled') return this.decided(client, eventId, prepared.applied);
    const event = prepared.event;
    const candidates = await this.loadCandidates(client, event);
    const outcome = route(
      {
        conversationKey: event.conversationKey,
        correlationKey: event.correlationKey,
        reference: event.reference,
        command: event.command,
      },
      candidates,
      event.route,
    );
    const applied = await this.apply(client, eventId, event, outcome);
    return this.decided(client, eventId, {
      ...applied,
      feedback: applied.feedback ?? prepared.feedback,
    });
  }

  /** Records the decision on the event and shapes the caller's answer. */
  private async decided(client: PoolClient, eventId: string, applied: Applied) {
    await client.query(
      'UPDATE "InboundEvent" SET decision = $2, reason = $3, "workId" = $4, "waitId" = $5 WHERE id = $1',
      [eventId, applied.decision, applied.reason, applied.workId, applied.waitId],
    );
    const result: IngestResult = {
      eventId,
      decision: applied.decision,
      reason: applied.reason,
      workId: applied.workId,
      waitId: applied.waitId,
      duplicate: false,
      ...(applied.feedback ? { feedback: applied.feedback } : {}),
    };
    return { dispatches: applied.dispatches, result };
  }

  private async apply(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: RouteOutcome,
  ): Promise<Applied> {
    const actor = event.actor?.id ?? `${event.channel}:${event.source}`;
    const none = { workId: null, waitId: null, dispatches: [] as Dispatch[] };
    switch (outcome.decision) {
      case 'open': {
        const { row, dispatches } = await this.works.create(
          client,
          {
            id: this.ids.uuid(),
            kind: outcome.kind,
            sourceType: event.channel,
            sourceId: eventId,
            conversationKey: event.conversationKey,
            replyAddress: event.replyAddress ?? null,
            input: event.body,
            retryPolicy: this.defaults?.retryPolicy(outcome.kind) ?? DEFAULT_RETRY_POLICY,
          },
          actor,
          { eventId, reason: outcome.reason },
        );
        return {
          decision: 'opened' as const,
          reason: outcome.reason,
          workId: row.id,
          waitId: null,
          dispatches,
        };
      }
      case 'resume': {
        const wait = await this.waits.find(client, outcome.waitId);
        // People answer human and budget waits: both have responders and a prompt to edit.
        const personal = wait?.type === 'human' || wait?.type === 'budget';
        if (personal && !this.chat.mayAnswer(wait, event.actor?.id ?? null)) {
          const refused = await this.chat.refuse(client, eventId, event, wait);
          await this.noteOnTimeline(
            client,
            wait.workId,
            eventId,
            'rejected',
            `${actor} may not answer wait ${wait.id}`,
            actor,
          );
          return {
            decision: 'rejected',
            reason: `${actor} is not among wait ${wait.id}'s responders`,
            workId: wait.workId,
            waitId: wait.id,
            ...refused,
          };
        }
        // Conditional on the wait still being open: a timeout firing at the same
        // instant updates the same row, and exactly one of the two UPDATEs matches.
        const satisfied = await this.waits.resolve(
          client,
          outcome.waitId,
          'satisfied',
          event.answer ?? null,
          eventId,
        );
        if (!satisfied) {
          return this.toInbox(
            client,
            eventId,
            outcome.workId,
            `wait ${outcome.waitId} was resolved a moment earlier; kept in the inbox`,
            actor,
          );
        }
        const applied = await this.works.apply(
          client,
          outcome.workId,
          { type: 'wait_satisfied' },
          { actor, data: { eventId, waitId: outcome.waitId } },
        );
        if (!applied.ok)
          throw new Error(
            `wait ${outcome.waitId} was open but its work refused wait_satisfied: ${applied.reason}`,
          );
        const edits = personal ? await this.chat.answered(client, eventId, event, wait) : [];
        return {
          decision: 'resumed' as const,
          reason: outcome.reason,
          workId: outcome.workId,
          waitId: outcome.waitId,
          dispatches: [...applied.dispatches, ...edits],
          ...(event.button ? { feedback: 'Thanks, answered.' } : {}),
        };
      }
      case 'inbox':
      case 'collect':
      case 'interrupt':
        if (outcome.workId === null)
          return { ...none, decision: 'inbox' as const, reason: outcome.reason };
        if (outcome.decision === 'collect') {
          // Held back from ctx.inbox() until the burst has been quiet this long.
          await client.query('UPDATE "InboundEvent" SET "collectWindowMs" = $2 WHERE id = $1', [
            eventId,
            outcome.windowMs,
          ]);
        }
        if (outcome.decision === 'interrupt') {
          // The run's next heartbeat sees this and cuts the running step short; the
          // work restarts from its last inbox read and so sees this event.
          await client.query(
            `UPDATE "Work" SET "interruptRequestedAt" = now() WHERE id = $1 AND state IN ('RUNNING', 'QUEUED')`,
            [outcome.workId],
          );
        }
        return this.toInbox(
          client,
          eventId,
          outcome.workId,
          outcome.reason,
          actor,
          DECISION_BY_OUTCOME[outcome.decision],
        );
      case 'reject': {
        if (outcome.workId)
          await this.noteOnTimeline(
            client,
            outcome.workId,
            eventId,
            'rejected',
            outcome.reason,
            actor,
          );
        // A wait that did not take the answer asks again (the wait stays open); a
        // busy work says so.
        const wait = outcome.waitId ? await this.waits.find(client, outcome.waitId) : null;
        const replied = wait
          ? await this.chat.reprompt(
              client,
              eventId,
              event,
              wait,
              this.validationError(wait, event) ?? 'not what was asked',
            )
          : {
              dispatches: await this.chat.busy(
                client,
                eventId,
                event,
                outcome.workId,
                outcome.reason,
              ),
              feedback: undefined,
            };
        return {
          decision: 'rejected' as const,
          reason: outcome.reason,
          workId: outcome.workId,
          waitId: outcome.waitId ?? null,
          dispatches: replied.dispatches,
          ...(replied.feedback ? { feedback: replied.feedback } : {}),
        };
      }
      case 'ask-which':
        return {
          ...none,
          decision: 'asked' as const,
          reason: `${outcome.reason}: ${outcome.workIds.join(', ')}`,
          dispatches: await this.chat.askWhich(client, eventId, event, outcome.workIds),
          feedback: 'Which one? See the question in the chat.',
        };
      case 'drop':
        return { ...none, decision: 'dropped' as const, reason: outcome.reason };
    }
  }

  private validationError(wait: WaitRow, event: InboundEventInput): string | null {
    const verdict = this.validator.validate(wait.expects, event.answer);
    return verdict.ok ? null : verdict.error;
  }

  private async toInbox(
    client: PoolClient,
    eventId: string,
    workId: string,
    reason: string,
    actor: string,
    decision: IngestDecision = 'inbox',
  ) {
    await this.noteOnTimeline(client, workId, eventId, decision, reason, actor);
    return { decision, reason, workId, waitId: null, dispatches: [] as Dispatch[] };
  }

  private async noteOnTimeline(
    client: PoolClient,
    workId: string,
    eventId: string,
    decision: IngestDecision,
    reason: string,
    actor: string,
  ) {
    await this.works.lock(client, workId);
    await this.works.appendEvent(
      client,
      workId,
      'event_received',
      { eventId, decision, reason },
      actor,
    );
  }

  private async loadCandidates(
    client: PoolClient,
    event: InboundEventInput,
  ): Promise<RouteCandidates> {
    const candidates: RouteCandidates = { referenced: null, correlated: [], conversation: [] };
    if (event.reference) {
      const { rows } = await client.query<{ id: string; state: WorkState; createdAt: Date }>(
        'SELECT id, state, "createdAt" FROM "Work" WHERE id = $1',
        [event.reference.workId],
      );
      if (rows[0]) {
        const waits = await this.waitsOf(client, [rows[0].id], event.reference.waitId);
        candidates.referenced = this.toCandidate(rows[0], waits, event);
      }
      return candidates;
    }
    if (event.correlationKey) {
      const { rows } = await client.query<WaitRow & { state: WorkState; workCreatedAt: Date }>(
        `SELECT w.id, w."workId", w.type, w.status, w."correlationKey", w.expects, w."createdAt", k.state, k."createdAt" AS "workCreatedAt"
         FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
         WHERE w."correlationKey" = $1 AND k.state = ANY($2::"WorkState"[])`,
        [event.correlationKey, LIVE],
      );
      const byWork = new Map<
        string,
        { work: { id: string; state: WorkState; createdAt: Date }; waits: WaitRow[] }
      >();
      for (const r of rows) {
        const entry = byWork.get(r.workId) ?? {
          work: { id: r.workId, state: r.state, createdAt: r.workCreatedAt },
          waits: [],
        };
        entry.waits.push(r);
        byWork.set(r.workId, entry);
      }
      candidates.correlated = [...byWork.values()].map((e) =>
        this.toCandidate(e.work, e.waits, event),
      );
    }
    if (event.conversationKey) {
      const { rows } = await client.query<{ id: string; state: WorkState; createdAt: Date }>(
        'SELECT id, state, "createdAt" FROM "Work" WHERE "conversationKey" = $1 AND state = ANY($2::"WorkState"[]) ORDER BY "createdAt" LIMIT 50',
        [event.conversationKey, LIVE],
      );
      if (rows.length) {
        const waits = await this.waitsOf(
          client,
          rows.map((r) => r.id),
        );
        candidates.conversation = rows.map((r) =>
          this.toCandidate(
            r,
            waits.filter((w) => w.workId === r.id),
            event,
          ),
        );
      }
    }
    return candidates;
  }

  private async waitsOf(
    client: PoolClient,
    workIds: string[],
    alsoWaitId?: string,
  ): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>(
      `SELECT id, "workId", type, status, "correlationKey", expects, "createdAt" FROM "Wait"
       WHERE "workId" = ANY($1::uuid[]) AND (status = 'open' OR id = $2::uuid)`,
      [workIds, alsoWaitId ?? null],
    );
    return rows;
  }

  private toCandidate(
    work: { id: string; state: WorkState; createdAt: Date },
    waits: WaitRow[],
    event: InboundEventInput,
  ): WorkCandidate {
    return {
      workId: work.id,
      state: work.state,
      createdAt: work.createdAt.getTime(),
      waits: waits.map((w) => ({
        waitId: w.id,
        workId: w.workId,
        status: w.status,
        createdAt: w.createdAt.getTime(),
        accepts: w.status === 'open' && this.accepts(w, event),
      })),
    };
  }

  /** Can this event answer this wait? Timers and child waits are never answered by events. */
  private accepts(wait: WaitRow, event: InboundEventInput): boolean {
    if (wait.type === 'timer' || wait.type === 'child') return false;
    if (wait.correlationKey !== null && wait.correlationKey !== event.correlationKey) return false;
    return this.validator.validate(wait.expects, event.answer).ok;
  }
}
