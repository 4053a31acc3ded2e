import { Inject, Injectable, Optional } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  CLOCK,
  type Clock,
  DEFAULT_RETRY_POLICY,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestDecision,
  type IngestResult,
  type RetryPolicy,
  type RouteCandidates,
  type RouteOutcome,
  type WorkCandidate,
  type WorkState,
  ErrorCode,
  jsonbProblem,
  MAX_JSONB_DEPTH,
  isTerminal,
  route,
  WorkgateError,
} from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { LedgerDatabase, type Queryable } from '../database/ledger-database';
import { StatementBatcher } from '../database/statement-batcher';
import { isPerItemFailure, translateDatabaseError } from '../database/database-errors';
import { type Dispatch, WORK_DISPATCHER, type WorkDispatcher } from '../ports/work-dispatcher.port';
import { WaitRepository, type WaitRow } from '../waits/wait.repository';
import { type WorkRow } from '../work/work-row';
import {
  NEW_WORK_COLUMNS,
  NEW_WORK_TYPES,
  newWorkValues,
  WorkRepository,
} from '../work/work.repository';
import { AnswerValidator } from './answer-validator';
import { ChatRouting } from './chat-routing';
import { claimRawBody } from './raw-body-claim';
import { completeStepSet } from '../steps/step-completion.sql';

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

type Applied = {
  decision: IngestDecision;
  reason: string;
  workId: string | null;
  waitId: string | null;
  dispatches: Dispatch[];
  feedback?: string;
  /** The decision is already on the event (written with the resume, see RESUME). */
  recorded?: boolean;
};

/**
 * The work an event was about to go into the inbox of had ended (it completed, failed
 * or was cancelled after the candidates were read, before its row lock was granted):
 * the event is routed again instead, never left in the inbox of a finished work.
 */
type Ended = { ended: { workId: string; state: WorkState } };

/** The candidates route() decides on, and the wait rows they were built from. */
interface Loaded {
  candidates: RouteCandidates;
  waits: Map<string, WaitRow>;
}

/**
 * The conversation's advisory locks, then the event's dedupe insert, as ONE statement.
 * The locks are taken one by one in the array's order (the ordered subquery feeding
 * count()), all before the aggregate's one row feeds the INSERT. The insert's snapshot
 * predates the locks, which does not matter to it: ON CONFLICT checks the unique index
 * against every committed or in-flight row, not against the snapshot. No row: a
 * duplicate.
 */
const LOCK_AND_INSERT = `
  WITH locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
    FROM (SELECT k FROM unnest($11::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys
  )
  INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", "correlationKey", actor, raw, body, answer, decision, reason)
  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'dropped', 'routing' FROM locked
  ON CONFLICT (channel, "externalId") DO NOTHING
  RETURNING id`;

/**
 * A wait answered, as ONE statement: resolve it if, and only if, it is still open (an
 * answer and a timeout racing for it both try; exactly one UPDATE matches), complete the
 * step that opened it, record the decision on the event, and lock its work's row for
 * the transition. Lock order (docs/decisions.md): the work's row first — the wait's
 * UPDATE joins the `work` CTE, so no wait row is locked before the CTE has produced
 * its locked work row (data-modifying CTEs otherwise run in no guaranteed order) —
 * then the wait's, as cancel, signal and the timer take them. Every part hangs off the
 * wait's UPDATE, so nothing is written when the wait was resolved a moment earlier.
 * No row: the wait was not open.
 */
const RESUME = `
  WITH work AS (
    SELECT k.* FROM "Work" k WHERE k.id = (SELECT "workId" FROM "Wait" WHERE id = $1) FOR UPDATE OF k
  ), wait AS (
    UPDATE "Wait" w SET status = 'satisfied', result = $2, "satisfiedByEventId" = $3, "resolvedAt" = now()
    FROM work WHERE w.id = $1 AND w.status = 'open' AND w."workId" = work.id
    RETURNING w."workId", w."stepSeq"
  ), step AS (
    UPDATE "Step" s SET ${completeStepSet('$4')}
    FROM wait WHERE s."workId" = wait."workId" AND s.seq = wait."stepSeq"
  ), event AS (
    UPDATE "InboundEvent" e SET decision = $5, reason = $6, "workId" = wait."workId", "waitId" = $1
    FROM wait WHERE e.id = $3
  )
  SELECT work.* FROM wait LEFT JOIN work ON work.id = wait."workId"`;

/**
 * The live works waiting on a correlation key, whole, with their waits on that key (as
 * JSON): what route() decides on, and the row the transition is decided on, in one
 * read outside any transaction (resumeInOneStatement).
 */
const CORRELATED_WORKS = `
  SELECT k.*, (SELECT json_agg(w) FROM "Wait" w WHERE w."workId" = k.id AND w."correlationKey" = $1) AS "__waits"
  FROM "Work" k
  WHERE k.id IN (SELECT "workId" FROM "Wait" WHERE "correlationKey" = $1) AND k.state = ANY($2::"WorkState"[])`;

/**
 * RESUME_KNOWN's guard: SQL has no RAISE outside PL/pgSQL, so the statement fails by
 * casting this message to boolean (22P02, the message in the error). Not a constant
 * (the count), so the planner cannot fold it into an error at planning time.
 */
const GUARD_MISSED = 'resume decided on a stale work; wait open:';

/**
 * A reply resuming a wait decided on rows read before it, as ONE statement (after $1 –
 * $26, WorkRepository.planKnown's `upd` and `ev`): the event's locks (as in
 * LOCK_AND_INSERT), the wait resolved if it is still open, the work's transition
 * conditional on that and on the version read, the wait's step completed, and the
 * event inserted with its decision only where the work was updated. The rows are
 * locked in the one lock order (docs/decisions.md): `held` locks the work's row ($1,
 * planKnown's work id) after the advisory locks and before the wait's UPDATE, which
 * joins it (so it cannot lock the wait first), and
 * each UPDATE re-checks its condition on the row as committed when its lock is granted,
 * so the statement writes either all of it or nothing — except when the wait was open
 * and the work had moved on: `__guard` then fails the statement (a cast of its message)
 * and it rolls back. A duplicate delivery (the event's unique index) or a concurrent
 * timeline entry (planKnown) fails it too. Every failure means: take the transaction.
 */
const RESUME_KNOWN = (ctes: string) => `
  WITH locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS n
    FROM (SELECT k FROM unnest($27::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys
  ), held AS (
    SELECT k.id FROM "Work" k, locked WHERE k.id = $1 FOR UPDATE OF k
  ), wait AS (
    UPDATE "Wait" w SET status = 'satisfied', result = $28, "satisfiedByEventId" = $29, "resolvedAt" = now()
    FROM held WHERE w.id = $30 AND w.status = 'open' AND w."workId" = held.id
    RETURNING w."workId", w."stepSeq"
  ), ${ctes}, step AS (
    UPDATE "Step" s SET ${completeStepSet('$31')}
    FROM wait JOIN upd ON upd.id = wait."workId" WHERE s."workId" = wait."workId" AND s.seq = wait."stepSeq"
  ), event AS (
    INSERT INTO "InboundEvent" (id, channel, source, "externalId", "conversationKey", "correlationKey", actor, raw, body, answer, decision, reason, "workId", "waitId")
    SELECT $29, $32, $33, $34, $35, $36, $37, $38, $39, $28, 'resumed', $40, upd.id, $30 FROM upd
  )
  SELECT upd.*, CASE WHEN (SELECT count(*) FROM wait) = (SELECT count(*) FROM upd) THEN true
    ELSE ('${GUARD_MISSED} ' || (SELECT count(*) FROM wait))::boolean END AS "__guard"
  FROM (VALUES (1)) AS one LEFT JOIN upd ON true`;

const NO_CANDIDATES: RouteCandidates = { referenced: null, correlated: [], conversation: [] };

/** The event columns, with the type of each value of a DecidedEvent's `event`. */
const EVENT_COLUMNS: Array<[string, string]> = [
  ['id', 'uuid'],
  ['channel', 'text'],
  ['source', 'text'],
  ['"externalId"', 'text'],
  ['actor', 'jsonb'],
  ['raw', 'jsonb'],
  ['body', 'jsonb'],
  ['answer', 'jsonb'],
  ['decision', '"RouteDecision"'],
  ['reason', 'text'],
  ['"workId"', 'uuid'],
];
const CREATED_TYPES = ['jsonb', 'text', 'timestamptz'];

/**
 * A batch of decided events, each with the work it opens (if any) and that work's first
 * timeline entry, as ONE statement: one array parameter per column, unnest()ed into
 * rows. Only events the dedupe insert took open their work (the joins on `event`); a
 * duplicate — of an earlier event or of one earlier in the same batch — writes nothing.
 */
const WRITE_DECIDED = (() => {
  let n = 0;
  const param = (type: string) => `$${++n}::${type}[]`;
  const columns = [
    ...EVENT_COLUMNS.map(([, type], i) => [`e${i}`, param(type)]),
    ...NEW_WORK_TYPES.map((type, i) => [`w${i}`, param(type)]),
    ...CREATED_TYPES.map((type, i) => [`c${i}`, param(type)]),
  ];
  return `
    WITH input AS (
      SELECT * FROM unnest(${columns.map(([, p]) => p).join(', ')})
        AS i(${columns.map(([name]) => name).join(', ')})
    ), event AS (
      INSERT INTO "InboundEvent" (${EVENT_COLUMNS.map(([c]) => c).join(', ')})
      SELECT ${EVENT_COLUMNS.map((_, i) => `e${i}`).join(', ')} FROM input
      ON CONFLICT (channel, "externalId") DO NOTHING
      RETURNING id
    ), work AS (
      INSERT INTO "Work" (${NEW_WORK_COLUMNS})
      SELECT ${newWorkValues((i) => `i.w${i}`)} FROM input i JOIN event e ON e.id = i.e0
      WHERE i.w0 IS NOT NULL
      RETURNING id
    ), timeline AS (
      INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
      SELECT i.w0, 1, 'created', i.c0, i.c1, i.c2 FROM input i JOIN work w ON w.id = i.w0
    )
    SELECT id FROM event`;
})();

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
 * Two common cases skip the transaction, each written in one statement with the same
 * outcome: an event that names no existing work (ingestInOneStatement), and a reply that
 * resumes an open wait by its correlation key (resumeInOneStatement).
 */
@Injectable()
export class IngestService {
  private readonly decidedWriter = new StatementBatcher<DecidedEvent, DecidedWrite>(
    (batch) => this.writeDecided(batch),
    { maxBatch: 64, maxInFlight: 2 },
  );

  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly validator: AnswerValidator,
    private readonly chat: ChatRouting,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(WORKFLOW_DEFAULTS) private readonly defaults?: WorkflowDefaults,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {}

  /**
   * `rawBody`: the exact bytes a signed delivery arrived as. They are kept, and a
   * delivery id seen before with other bytes is refused (see claimRawBody).
   */
  async ingest(
    event: InboundEventInput,
    opts: { rawBody?: Uint8Array } = {},
  ): Promise<IngestResult> {
    assertStorableEvent(event);
    let dispatches: Dispatch[] = [];
    let result: IngestResult;
    try {
      if (opts.rawBody)
        await claimRawBody(this.db.pool, event, opts.rawBody, () => this.ids.uuid());
      const resumed = await this.resumeInOneStatement(event);
      if (resumed) ({ result, dispatches } = resumed);
      else
        result =
          (await this.ingestInOneStatement(event)) ??
          (await this.db.transaction(async (client) => {
            const outcome = await this.ingestInTransaction(client, event);
            dispatches = outcome.dispatches;
            return outcome.result;
          }));
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
    await this.dispatchAfterCommit(dispatches, { eventId: result.eventId, workId: result.workId });
    return result;
  }

  private async dispatchAfterCommit(
    dispatches: Dispatch[],
    what: { eventId: string; workId: string | null } | string,
  ): Promise<void> {
    if (dispatches.length === 0) return;
    try {
      await this.dispatcher.dispatch(dispatches);
    } catch (err) {
      // Committed is committed: the reconciler enqueues QUEUED works that have no job.
      this.logger.warn(
        { ...(typeof what === 'string' ? { batch: what } : what), err: (err as Error).message },
        'enqueue after commit failed; the reconciler will retry',
      );
    }
  }

  /**
   * The common case of a webhook, a schedule fire or an API start: an event with nothing
   * that could name an existing work — no conversation or correlation key, no
   * reference, reply, button or chat command. Its routing cannot depend on the ledger
   * (route() over no candidates), so it is decided first and written in ONE statement
   * (dedupe insert, work, timeline) instead of a transaction's six round trips, with
   * the same unique-index dedupe: a concurrent duplicate waits on the index, then
   * inserts nothing, and nothing else either. Concurrent events share that statement
   * and its commit (group commit) and one enqueue, which has completed when this
   * returns. Null: the event needs the full transaction.
   */
  private async ingestInOneStatement(input: InboundEventInput): Promise<IngestResult | null> {
    if (
      input.conversationKey ||
      input.correlationKey ||
      input.reference ||
      input.replyTo ||
      input.button ||
      input.command === 'status' ||
      input.command === 'cancel'
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
    const plan = kind
      ? this.works.planCreate({
          id: workId!,
          kind,
          sourceType: input.channel,
          sourceId: eventId,
          conversationKey: null,
          replyAddress: input.replyAddress ?? null,
          input: input.body,
          retryPolicy: this.defaults?.retryPolicy(kind) ?? DEFAULT_RETRY_POLICY,
        })
      : null;
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
      work: plan
        ? [
            ...plan.values,
            JSON.stringify({ kind, eventId, reason: outcome.reason }),
            input.actor?.id ?? `${input.channel}:${input.source}`,
            new Date(this.clock.now()),
          ]
        : Array.from({ length: NEW_WORK_TYPES.length + CREATED_TYPES.length }, () => null),
      dispatches: plan?.dispatches ?? [],
    });
    if ('error' in written) throw written.error;
    return written.inserted
      ? { eventId, decision, reason: outcome.reason, workId, waitId: null, duplicate: false }
      : this.existing(this.db.pool, input);
  }

  /**
   * The common case of an answer: an event with a correlation key (a webhook answering
   * `ctx.waitFor`) that resumes an open wait of a WAITING work. The candidates and the
   * work are read outside any transaction, route() decides on them, and it is all
   * written in ONE statement (RESUME_KNOWN) that lands only on the rows as they were
   * read — three round trips (read, write, enqueue) instead of the transaction's seven.
   * Whatever else the event needs (another decision, a person's wait with its
   * responders and prompt, a work that moved on, a duplicate) takes the transaction:
   * null. The transaction routes under the locks; this one routes on a read made just
   * before them, which is the same as routing the event at that read: every row the
   * decision rests on is re-checked, as committed, when the statement locks it.
   */
  private async resumeInOneStatement(
    input: InboundEventInput,
  ): Promise<{ result: IngestResult; dispatches: Dispatch[] } | null> {
    if (!input.correlationKey || input.reference || input.replyTo || input.button || input.command)
      return null;
    const { rows } = await this.db.pool.query<WorkRow & { __waits: WaitJson[] }>({
      name: 'ingest-correlated-works',
      text: CORRELATED_WORKS,
      values: [input.correlationKey, LIVE],
    });
    if (rows.length === 0) return null;
    const waits = new Map<string, WaitRow>();
    const candidates: RouteCandidates = {
      referenced: null,
      correlated: rows.map(({ __waits, ...work }) => {
        const revived = __waits.map(reviveWait);
        for (const w of revived) waits.set(w.id, w);
        return this.toCandidate(work, revived, input);
      }),
      conversation: [],
    };
    const outcome = route(
      {
        conversationKey: input.conversationKey,
        correlationKey: input.correlationKey,
        reference: null,
        command: null,
      },
      candidates,
      input.route,
    );
    if (outcome.decision !== 'resume') return null;
    const wait = waits.get(outcome.waitId);
    const work = rows.find((r) => r.id === outcome.workId);
    if (!wait || !work || isPersonal(wait)) return null;
    const eventId = this.ids.uuid();
    const actor = input.actor?.id ?? `${input.channel}:${input.source}`;
    const plan = this.works.planKnown(
      work,
      { type: 'wait_satisfied' },
      { actor, data: { eventId, waitId: wait.id } },
      'EXISTS (SELECT 1 FROM wait)',
    );
    if (plan === 'stale' || !plan.ok) return null;
    const answer = JSON.stringify(input.answer ?? null);
    let written: Array<{ id: string | null }>;
    try {
      ({ rows: written } = await this.db.pool.query<{ id: string | null }>({
        name: 'ingest-resume-known',
        text: RESUME_KNOWN(plan.ctes),
        values: [
          ...plan.values,
          conversationLocks(input),
          answer,
          eventId,
          wait.id,
          // As WaitRepository.resolve() completes a step: its output wrapped as { v }.
          JSON.stringify({ v: input.answer ?? null }),
          ...eventValues(input),
          outcome.reason,
        ],
      }));
    } catch (err) {
      const { code, message } = err as { code?: string; message?: string };
      if (code === '23505' || (code === '22P02' && message?.includes(GUARD_MISSED))) return null;
      throw err;
    }
    if (!written[0]?.id) return null;
    return {
      result: {
        eventId,
        decision: 'resumed',
        reason: outcome.reason,
        workId: work.id,
        waitId: wait.id,
        duplicate: false,
      },
      dispatches: plan.outcome.dispatches,
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
    await this.dispatchAfterCommit(
      batch.flatMap((d, i) => (inserted[i] ? d.dispatches : [])),
      `${taken.size} events`,
    );
    return inserted.map((ok) => ({ inserted: ok }));
  }

  /** The answer a repeated delivery gets: the original event's, writing nothing. */
  private async existing(db: Queryable, input: InboundEventInput): Promise<IngestResult> {
    const { rows } = await db.query<ExistingEventRow>(
      'SELECT id, decision, "workId", "waitId", reason FROM "InboundEvent" WHERE channel = $1 AND "externalId" = $2',
      [input.channel, input.externalId],
    );
    const existing = rows[0]!;
    return {
      eventId: existing.id,
      decision: existing.decision,
      workId: existing.workId,
      waitId: existing.waitId,
      reason: existing.reason,
      duplicate: true,
    };
  }

  private async ingestInTransaction(client: PoolClient, input: InboundEventInput) {
    // Serialize per conversation (and per correlation key): two events for the same
    // conversation route one after the other, in arrival order.
    const keys = conversationLocks(input);

    // Dedupe inside the transaction: a concurrent duplicate blocks on the unique index
    // until this transaction ends, then sees the conflict. One statement with the locks
    // (see LOCK_AND_INSERT); the candidates are read by the next one, under the locks.
    const eventId = this.ids.uuid();
    const inserted = await client.query<{ id: string }>({
      name: 'ingest-lock-insert',
      text: LOCK_AND_INSERT,
      values: [eventId, ...eventValues(input), JSON.stringify(input.answer ?? null), keys],
    });
    if (inserted.rowCount === 0)
      return { dispatches: [] as Dispatch[], result: await this.existing(client, input) };

    // Chat inputs (a button, a reply to our message, /status, /cancel, a pick) become
    // explicit references, or are answered right here.
    const prepared = await this.chat.prepare(client, eventId, input);
    if (prepared.kind === 'handled') return this.decided(client, eventId, prepared.applied);
    const event = prepared.event;
    const closed =
      event.command === 'new' && event.conversationKey
        ? await this.chat.closeFollowUps(
            client,
            eventId,
            event.conversationKey,
            event.actor?.id ?? `${event.channel}:${event.source}`,
          )
        : [];
    const applied = await this.routeLocked(client, eventId, event);
    return this.decided(client, eventId, {
      ...applied,
      dispatches: [...closed, ...applied.dispatches],
      feedback: applied.feedback ?? prepared.feedback,
    });
  }

  /**
   * Routes an event under its conversation's locks (held by the caller's transaction):
   * candidates → route() → apply. `why` prefixes the reason (an event routed again).
   * A work that ended between the candidates' read and its row lock is not a place to
   * leave the event: it is routed once more, on candidates read after that lock.
   */
  private async routeLocked(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    why?: string,
  ): Promise<Applied> {
    let prefix = why;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { candidates, waits } = await this.loadCandidates(client, event);
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
      const applied = await this.apply(
        client,
        eventId,
        event,
        prefix ? { ...outcome, reason: `${prefix}; ${outcome.reason}` } : outcome,
        waits,
      );
      if (!('ended' in applied)) return applied;
      const { workId, state } = applied.ended;
      prefix = `${prefix ? `${prefix}; ` : ''}routed again: work ${workId} ended (${state}) before this reached its inbox`;
    }
    // Each pass reads the candidates after the last one's work row lock showed it ended,
    // so a third ended work in a row means the ledger is changing under the locks.
    throw new Error(`event ${eventId}: every candidate work ended while it was routed`);
  }

  /**
   * An unread inbox event of a work that ended (InboxRerouter), routed again as if it
   * had just arrived, inside the caller's transaction (which holds the event's
   * conversation locks and its row). The event keeps its id and its place in the
   * ledger; its decision, reason and work are the new routing's.
   */
  async routeAgain(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    why: string,
  ): Promise<{ applied: Applied; dispatches: Dispatch[] }> {
    const applied = await this.routeLocked(client, eventId, event, why);
    await this.decided(client, eventId, applied);
    return { applied, dispatches: applied.dispatches };
  }

  /** Records the decision on the event and shapes the caller's answer. */
  private async decided(client: PoolClient, eventId: string, applied: Applied) {
    if (!applied.recorded) {
      await client.query({
        name: 'ingest-decided-one',
        text: 'UPDATE "InboundEvent" SET decision = $2, reason = $3, "workId" = $4, "waitId" = $5 WHERE id = $1',
        values: [eventId, applied.decision, applied.reason, applied.workId, applied.waitId],
      });
    }
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
    loaded: Map<string, WaitRow>,
  ): Promise<Applied | Ended> {
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
        // The candidates query read this wait in this transaction, under the conversation
        // lock; only a timeout can have resolved it since, which the RESUME statement sees.
        const wait = loaded.get(outcome.waitId) ?? (await this.waits.find(client, outcome.waitId));
        const personal = !!wait && isPersonal(wait);
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
        const answer = event.answer ?? null;
        const { rows } = await client.query<WorkRow>({
          name: 'ingest-resume',
          text: RESUME,
          values: [
            outcome.waitId,
            JSON.stringify(answer),
            eventId,
            // As WaitRepository.resolve() completes a step: its output wrapped as { v }.
            JSON.stringify({ v: answer }),
            'resumed',
            outcome.reason,
          ],
        });
        if (rows.length === 0) {
          return this.toInbox(
            client,
            eventId,
            event,
            outcome.workId,
            `wait ${outcome.waitId} was resolved a moment earlier; kept in the inbox`,
          );
        }
        const work = rows[0]!;
        if (!work.id) throw new Error(`wait ${outcome.waitId} has no work ${outcome.workId}`);
        const opts = { actor, data: { eventId, waitId: outcome.waitId } };
        // The row was read under its row lock (RESUME), so the transition decided on it
        // is written with its timeline entry in one statement. Only for a WAITING work:
        // it holds no lease, so no heartbeat can have moved it without a version bump.
        // Under that lock nothing appends to its timeline meanwhile, so applyKnown's seq
        // race (a unique violation, which would abort this transaction) cannot happen.
        const known =
          work.state === 'WAITING'
            ? await this.works.applyKnown(client, work, { type: 'wait_satisfied' }, opts)
            : 'stale';
        const applied =
          known === 'stale'
            ? await this.works.apply(client, outcome.workId, { type: 'wait_satisfied' }, opts)
            : known;
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
          recorded: true,
        };
      }
      case 'inbox':
      case 'collect':
      case 'interrupt': {
        if (outcome.workId === null)
          return { ...none, decision: 'inbox' as const, reason: outcome.reason };
        const inboxed = await this.toInbox(
          client,
          eventId,
          event,
          outcome.workId,
          outcome.reason,
          DECISION_BY_OUTCOME[outcome.decision],
          // A `collect` part is held back from ctx.inbox() until its burst has been quiet this long.
          outcome.decision === 'collect' ? outcome.windowMs : null,
        );
        if ('ended' in inboxed) return inboxed;
        if (outcome.decision === 'interrupt') {
          // The run sees this at its next heartbeat, or at once when the nudge reaches
          // its worker, and cuts the running step short; the work restarts from its last
          // inbox read and so sees this event.
          const { rowCount } = await client.query(
            `UPDATE "Work" SET "interruptRequestedAt" = now() WHERE id = $1 AND state IN ('RUNNING', 'QUEUED')`,
            [outcome.workId],
          );
          if (rowCount)
            return {
              ...inboxed,
              dispatches: [...inboxed.dispatches, { type: 'nudge', workId: outcome.workId }],
            };
        }
        return inboxed;
      }
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
        const wait = outcome.waitId
          ? (loaded.get(outcome.waitId) ?? (await this.waits.find(client, outcome.waitId)))
          : null;
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

  /**
   * Into the work's inbox — unless the work has ended: its row lock, taken here, is the
   * one every terminal transition holds, so a work seen live under it reads or re-routes
   * this event (its end marks its unread inbox), and one seen ended returns `Ended`.
   */
  private async toInbox(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    workId: string,
    reason: string,
    decision: IngestDecision = 'inbox',
    collectWindowMs: number | null = null,
  ): Promise<Applied | Ended> {
    const work = await this.works.lock(client, workId);
    if (!work || isTerminal(work.state))
      return { ended: { workId, state: work?.state ?? 'CANCELLED' } };
    const actor = event.actor?.id ?? `${event.channel}:${event.source}`;
    await this.noteOnTimeline(client, workId, eventId, decision, reason, actor);
    // The route and reply address are kept so that, should the work end without
    // reading it, the event is routed again as it would have been now.
    await client.query({
      name: 'ingest-to-inbox',
      text: 'UPDATE "InboundEvent" SET "collectWindowMs" = $2, "routePolicy" = $3, "replyAddress" = $4 WHERE id = $1',
      values: [
        eventId,
        collectWindowMs,
        JSON.stringify(event.route),
        JSON.stringify(event.replyAddress ?? null),
      ],
    });
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

  /**
   * The candidates, and the wait rows behind them (whole rows: the resume and reject
   * cases read responders, expects and the prompt from them instead of reading the
   * wait again).
   */
  private async loadCandidates(client: PoolClient, event: InboundEventInput): Promise<Loaded> {
    const candidates: RouteCandidates = { referenced: null, correlated: [], conversation: [] };
    const loaded = new Map<string, WaitRow>();
    const keep = (rows: WaitRow[]) => {
      for (const w of rows) loaded.set(w.id, w);
      return rows;
    };
    // /new opens (or drops) whatever the candidates: route() does not read them.
    if (event.command === 'new') return { candidates, waits: loaded };
    if (event.reference) {
      const { rows } = await client.query<{ id: string; state: WorkState; createdAt: Date }>({
        name: 'ingest-referenced',
        text: 'SELECT id, state, "createdAt" FROM "Work" WHERE id = $1',
        values: [event.reference.workId],
      });
      if (rows[0]) {
        const waits = keep(await this.waitsOf(client, [rows[0].id], event.reference.waitId));
        candidates.referenced = this.toCandidate(rows[0], waits, event);
      }
      return { candidates, waits: loaded };
    }
    if (event.correlationKey) {
      const { rows } = await client.query<WaitRow & { state: WorkState; workCreatedAt: Date }>({
        name: 'ingest-correlated',
        text: `SELECT w.*, k.state, k."createdAt" AS "workCreatedAt"
         FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
         WHERE w."correlationKey" = $1 AND k.state = ANY($2::"WorkState"[])`,
        values: [event.correlationKey, LIVE],
      });
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
        loaded.set(r.id, r);
        byWork.set(r.workId, entry);
      }
      candidates.correlated = [...byWork.values()].map((e) =>
        this.toCandidate(e.work, e.waits, event),
      );
      // route() decides within a live correlated work whenever there is one (rule 1b)
      // and never reads the conversation then; every row here is of a live work.
      if (candidates.correlated.length) return { candidates, waits: loaded };
      const { rows: closed } = await client.query<{
        waitId: string;
        workId: string;
        status: WaitRow['status'];
        workState: WorkState;
      }>({
        name: 'ingest-lapsed-wait',
        text: `SELECT w.id AS "waitId", w."workId", w.status, k.state AS "workState"
         FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
         WHERE w."correlationKey" = $1 ORDER BY w."createdAt" DESC LIMIT 1`,
        values: [event.correlationKey],
      });
      candidates.lapsed = closed[0] ?? null;
    }
    if (event.conversationKey) {
      const { rows } = await client.query<{ id: string; state: WorkState; createdAt: Date }>({
        name: 'ingest-conversation',
        text: 'SELECT id, state, "createdAt" FROM "Work" WHERE "conversationKey" = $1 AND state = ANY($2::"WorkState"[]) ORDER BY "createdAt" LIMIT 50',
        values: [event.conversationKey, LIVE],
      });
      if (rows.length) {
        const waits = keep(
          await this.waitsOf(
            client,
            rows.map((r) => r.id),
          ),
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
    return { candidates, waits: loaded };
  }

  private async waitsOf(
    client: PoolClient,
    workIds: string[],
    alsoWaitId?: string,
  ): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>({
      name: 'ingest-waits-of',
      text: `SELECT * FROM "Wait" WHERE "workId" = ANY($1::uuid[]) AND (status = 'open' OR id = $2::uuid)`,
      values: [workIds, alsoWaitId ?? null],
    });
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

/**
 * The advisory lock keys an event takes: its conversation and its correlation key, in a
 * fixed order, so two events holding both cannot deadlock.
 */
export function conversationLocks(input: InboundEventInput): string[] {
  return [
    ...new Set(
      [input.conversationKey, input.correlationKey && `corr:${input.correlationKey}`].filter(
        (k): k is string => !!k,
      ),
    ),
  ].sort();
}

/**
 * An event's own columns, in the order LOCK_AND_INSERT and RESUME_KNOWN take them:
 * channel, source, externalId, conversationKey, correlationKey, actor, raw, body.
 */
function eventValues(input: InboundEventInput): unknown[] {
  return [
    input.channel,
    input.source,
    input.externalId,
    input.conversationKey,
    input.correlationKey,
    JSON.stringify(input.actor),
    JSON.stringify(input.raw ?? null),
    JSON.stringify(input.body ?? null),
  ];
}

/** People answer human and budget waits: both have responders and a prompt to edit. */
function isPersonal(wait: WaitRow): boolean {
  return wait.type === 'human' || wait.type === 'budget';
}

/** A Wait row as json_agg returns it: timestamps as strings. */
type WaitJson = Omit<WaitRow, 'createdAt' | 'timeoutAt' | 'resolvedAt'> & {
  createdAt: string;
  timeoutAt: string | null;
  resolvedAt: string | null;
};

function reviveWait(w: WaitJson): WaitRow {
  const date = (v: string | null) => (v === null ? null : new Date(v));
  return {
    ...w,
    createdAt: new Date(w.createdAt),
    timeoutAt: date(w.timeoutAt),
    resolvedAt: date(w.resolvedAt),
  };
}

/**
 * What jsonb (or a text column) refuses — a NUL, an unpaired surrogate, nesting too
 * deep — is refused here, before the event reaches a statement: as the sender's
 * mistake (400, like a webhook body), and before the one-statement path's shared
 * statement, where it would fail the events beside it too. Channels check their own
 * bodies already; this covers every caller (the API's start, chat adapters, tools).
 */
/** Levels an event adds around a channel's body: the event, `body`, `payload`, one spare. */
const EVENT_ENVELOPE_DEPTH = 4;

function assertStorableEvent(event: InboundEventInput): void {
  const {
    route: _route,
    reference: _reference,
    button: _button,
    command: _command,
    ...stored
  } = event;
  // The channels refuse a body nesting past MAX_JSONB_DEPTH at their edge; here the
  // body sits inside the event and its normalized envelope (`body.payload`), so the
  // check leaves room for those levels and is a last defence for what jsonb refuses.
  const problem = jsonbProblem(stored, MAX_JSONB_DEPTH + EVENT_ENVELOPE_DEPTH);
  if (problem)
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      `The event holds ${problem}, which cannot be stored.`,
    );
}
