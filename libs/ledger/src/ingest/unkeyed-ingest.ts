import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  CLOCK,
  type Clock,
  DEFAULT_RETRY_POLICY,
  GATEWAY_COMMANDS,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestResult,
  type RouteCandidates,
  route,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import { LedgerDatabase } from '../database/ledger-database';
import { StatementBatcher } from '../database/statement-batcher';
import { isPerItemFailure } from '../database/database-errors';
import { type Dispatch, WORK_DISPATCHER, type WorkDispatcher } from '../ports/work-dispatcher.port';
import { NEW_WORK_TYPES, WorkRepository } from '../work/work.repository';
import { dispatchAfterCommit } from './after-commit';
import { existingEvent } from './duplicate-event';
import { actorOf } from './ingest-event.util';
import { DECISION_BY_OUTCOME, WORKFLOW_DEFAULTS, type WorkflowDefaults } from './ingest.types';
import { CREATED_TYPES, EVENT_COLUMNS, WRITE_DECIDED } from './unkeyed-ingest.sql';

const NO_CANDIDATES: RouteCandidates = { referenced: null, correlated: [], conversation: [] };

/** An event whose routing was decided without the ledger, ready to be written. */
interface DecidedEvent {
  /** Its dedupe key (channel, externalId). */
  key: string;
  /** Values for EVENT_COLUMNS. */
  event: unknown[];
  /** Values for NEW_WORK_TYPES, then CREATED_TYPES: the work it opens, or all null. */
  work: unknown[];
  dispatches: Dispatch[];
}

type DecidedWrite = { inserted: boolean } | { error: unknown };

/**
 * The common case of a webhook, a schedule fire or an API start: an event with nothing
 * that could name an existing work — no conversation or correlation key, no
 * reference, reply, button or chat command. Its routing cannot depend on the ledger
 * (route() over no candidates), so it is decided first and written in ONE statement
 * (dedupe insert, work, timeline) instead of a transaction's six round trips, with
 * the same unique-index dedupe: a concurrent duplicate waits on the index, then
 * inserts nothing, and nothing else either. Concurrent events share that statement
 * and its commit (group commit) and one enqueue, which has completed when this
 * returns.
 */
@Injectable()
export class UnkeyedIngest {
  private readonly decidedWriter = new StatementBatcher<DecidedEvent, DecidedWrite>(
    (batch) => this.writeDecided(batch),
    { maxBatch: 64, maxInFlight: 2 },
  );

  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(WORKFLOW_DEFAULTS) private readonly defaults?: WorkflowDefaults,
  ) {}

  /** The event ingested in one statement; null: it needs the full transaction. */
  async tryIngest(input: InboundEventInput): Promise<IngestResult | null> {
    if (
      input.conversationKey ||
      input.correlationKey ||
      input.reference ||
      input.replyTo ||
      input.button ||
      (input.command && GATEWAY_COMMANDS.includes(input.command))
    )
      return null;
    const outcome = route(
      { conversationKey: null, correlationKey: null, reference: null, command: input.command },
      NO_CANDIDATES,
      input.route,
    );
    if (outcome.decision !== 'open' && outcome.decision !== 'drop') return null;
    const eventId = this.ids.uuid();
    const kind = outcome.decision === 'open' ? outcome.kind : null;
    const workId = kind ? this.ids.uuid() : null;
    const decision = DECISION_BY_OUTCOME[outcome.decision];
    const written = await this.decidedWriter.submit({
      key: `${input.channel}\n${input.externalId}`,
      event: [
        eventId,
        input.channel,
        input.source,
        input.externalId,
        JSON.stringify(input.actor),
        JSON.stringify(input.raw ?? null),
        JSON.stringify(input.body ?? null),
        JSON.stringify(input.answer ?? null),
        decision,
        outcome.reason,
        workId,
      ],
      ...this.newWork(input, eventId, kind && workId ? { kind, workId } : null, outcome.reason),
    });
    if ('error' in written) throw written.error;
    return written.inserted
      ? { eventId, decision, reason: outcome.reason, workId, waitId: null, duplicate: false }
      : existingEvent(this.db.pool, input);
  }

  /** The values of the work an event opens (NEW_WORK_TYPES, CREATED_TYPES), or all null. */
  private newWork(
    input: InboundEventInput,
    eventId: string,
    opened: { kind: string; workId: string } | null,
    reason: string,
  ): Pick<DecidedEvent, 'work' | 'dispatches'> {
    if (!opened)
      return {
        work: Array.from({ length: NEW_WORK_TYPES.length + CREATED_TYPES.length }, () => null),
        dispatches: [],
      };
    const { kind, workId } = opened;
    const plan = this.works.planCreate({
      id: workId,
      kind,
      sourceType: input.channel,
      sourceId: eventId,
      conversationKey: null,
      replyAddress: input.replyAddress ?? null,
      input: input.body,
      retryPolicy: this.defaults?.retryPolicy(kind) ?? DEFAULT_RETRY_POLICY,
      title: input.title ?? null,
    });
    return {
      work: [
        ...plan.values,
        JSON.stringify({ kind, eventId, reason }),
        actorOf(input),
        new Date(this.clock.now()),
      ],
      dispatches: plan.dispatches,
    };
  }

  /**
   * Writes a batch of decided events (see WRITE_DECIDED), then enqueues what the new
   * works need, once for the batch, before any caller is answered. Says, per event,
   * whether the dedupe insert took it. A batch that fails is written again one event at
   * a time, so one event the database refuses fails alone.
   */
  private async writeDecided(batch: DecidedEvent[]): Promise<DecidedWrite[]> {
    // Rows are inserted in this order: a fixed order of the unique keys, so two batches
    // holding the same deliveries (a sender retrying at once) cannot deadlock.
    const sorted = [...batch].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let rows: Array<{ id: string }>;
    try {
      const columns = [
        ...EVENT_COLUMNS.map((_, c) => sorted.map((d) => d.event[c])),
        ...[...NEW_WORK_TYPES, ...CREATED_TYPES].map((_, c) => sorted.map((d) => d.work[c])),
      ];
      // Named: each pooled connection parses and plans it once.
      ({ rows } = await this.db.pool.query<{ id: string }>({
        name: 'ingest-decided',
        text: WRITE_DECIDED,
        values: columns,
      }));
    } catch (error) {
      // One event's fault must not fail the others (isPerItemFailure): each alone then.
      // The database gone fails them all at once, rather than once each.
      if (batch.length === 1 || !isPerItemFailure(error)) return batch.map(() => ({ error }));
      return Promise.all(batch.map(async (d) => (await this.writeDecided([d]))[0]!));
    }
    const taken = new Set(rows.map((r) => r.id));
    const inserted = batch.map((d) => taken.has(d.event[0] as string));
    await dispatchAfterCommit(
      this.dispatcher,
      this.logger,
      batch.flatMap((d, i) => (inserted[i] ? d.dispatches : [])),
      `${taken.size} events`,
    );
    return inserted.map((ok) => ({ inserted: ok }));
  }
}
