import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestResult,
  route,
} from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { ChatRateLimit } from './chat-rate-limit';
import { ChatRouting } from './chat-routing';
import { DecisionApplier } from './decision-applier';
import { existingEvent } from './duplicate-event';
import { actorOf, conversationLocks, eventValues } from './ingest-event.util';
import { type Applied } from './ingest.types';
import { LOCK_AND_INSERT } from './locked-ingest.sql';
import { RouteCandidateReader } from './route-candidates';

type Outcome = { result: IngestResult; dispatches: Dispatch[] };

/**
 * The general path, in ONE transaction: serialize on the conversation (advisory lock) →
 * dedupe on (channel, externalId) → chat inputs (ChatRouting) → load the candidates →
 * route() → apply the decision (DecisionApplier) → record it on the event. Every event
 * the one-statement paths do not take comes here; so does an inbox event routed again.
 */
@Injectable()
export class LockedIngest {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly chat: ChatRouting,
    private readonly rateLimit: ChatRateLimit,
    private readonly candidates: RouteCandidateReader,
    private readonly applier: DecisionApplier,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async ingest(input: InboundEventInput): Promise<Outcome> {
    return this.db.transaction((client) => this.ingestInTransaction(client, input));
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
      return { dispatches: [] as Dispatch[], result: await existingEvent(client, input) };

    const limited = await this.rateLimit.check(client, eventId, input);
    if (limited) return this.decided(client, eventId, limited);

    // Chat inputs (a button, a reply to our message, /status, /cancel, a pick) become
    // explicit references, or are answered right here.
    const prepared = await this.chat.prepare(client, eventId, input);
    if (prepared.kind === 'handled') return this.decided(client, eventId, prepared.applied);
    const event = prepared.event;
    const closed =
      event.command === 'new' && event.conversationKey
        ? await this.chat.closeFollowUps(client, eventId, event.conversationKey, actorOf(event))
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
      const { candidates, waits } = await this.candidates.load(client, event);
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
      const applied = await this.applier.apply(
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
  private async decided(client: PoolClient, eventId: string, applied: Applied): Promise<Outcome> {
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
}
