import { Inject, Injectable } from '@nestjs/common';
import { type InboundEventInput, isTerminal, type RoutePolicy } from '@app/core';
import { LOGGER, type Logger } from '@app/config';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { type Dispatch, WORK_DISPATCHER, type WorkDispatcher } from '../ports/work-dispatcher.port';
import { WorkRepository } from '../work/work.repository';
import { conversationLocks } from './ingest-event.util';
import { LockedIngest } from './locked-ingest';

interface StoredEvent {
  id: string;
  channel: string;
  source: string;
  externalId: string;
  conversationKey: string | null;
  correlationKey: string | null;
  actor: InboundEventInput['actor'];
  raw: unknown;
  body: unknown;
  answer: unknown;
  workId: string | null;
  consumedAt: Date | null;
  rerouteAt: Date | null;
  routePolicy: RoutePolicy | null;
  replyAddress: InboundEventInput['replyAddress'];
}

/**
 * DESIGN.md, "Routing": whatever is still unread in an inbox when its work ends is
 * routed again as if it had just arrived, with the reason on both timelines. The work's
 * terminal transition marks those events (`rerouteAt`, in its own transaction: the
 * `reroute_inbox` effect); this routes each marked event, one transaction per event,
 * under the same conversation locks ingest takes. The job dispatched after the
 * transition's commit calls it at once; the reconciler calls it for whatever a lost
 * job left marked.
 */
@Injectable()
export class InboxRerouter {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly ingest: LockedIngest,
    private readonly works: WorkRepository,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** The works with events waiting to be routed again, oldest mark first. */
  async pendingWorks(limit: number): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ workId: string }>(
      `SELECT "workId" FROM "InboundEvent" WHERE "rerouteAt" IS NOT NULL AND "workId" IS NOT NULL
       GROUP BY "workId" ORDER BY min("rerouteAt") LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.workId);
  }

  /** Routes again every marked event of `workId`, in arrival order. Returns how many. */
  async rerouteWork(workId: string): Promise<number> {
    let routed = 0;
    for (;;) {
      const { rows } = await this.db.pool.query<StoredEvent>(
        `SELECT * FROM "InboundEvent" WHERE "workId" = $1 AND "rerouteAt" IS NOT NULL ORDER BY seq LIMIT 1`,
        [workId],
      );
      const next = rows[0];
      if (!next) return routed;
      await this.rerouteOne(workId, next);
      routed++;
    }
  }

  private async rerouteOne(endedWorkId: string, seen: StoredEvent): Promise<void> {
    let dispatches: Dispatch[] = [];
    try {
      dispatches = await this.db.transaction(async (client) => {
        // The order ingest locks in: the conversation, then work rows (the ended work's
        // first: its row lock is the one its terminal transition held), then the event.
        await client.query(
          `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
           FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o) keys`,
          [conversationLocks({ ...toInput(seen, null) })],
        );
        const ended = await this.works.lock(client, endedWorkId);
        const { rows } = await client.query<StoredEvent>(
          'SELECT * FROM "InboundEvent" WHERE id = $1 FOR UPDATE',
          [seen.id],
        );
        const event = rows[0];
        // Routed again already (a job and the reconciler both came), or read meanwhile.
        if (!event?.rerouteAt || event.workId !== endedWorkId) return [];
        if (!ended || !isTerminal(ended.state) || event.consumedAt) {
          // An operator retried the work before this ran: the inbox is its own again.
          await client.query('UPDATE "InboundEvent" SET "rerouteAt" = NULL WHERE id = $1', [
            event.id,
          ]);
          return [];
        }
        await client.query(
          'UPDATE "InboundEvent" SET "rerouteAt" = NULL, "collectWindowMs" = NULL WHERE id = $1',
          [event.id],
        );
        const why = `routed again: work ${endedWorkId} ended (${ended.state}) before reading it`;
        const { applied, dispatches: out } = await this.ingest.routeAgain(
          client,
          event.id,
          toInput(event, ended.kind),
          why,
        );
        await this.works.appendEvent(
          client,
          endedWorkId,
          'inbox_rerouted',
          {
            eventId: event.id,
            decision: applied.decision,
            workId: applied.workId,
            reason: applied.reason,
          },
          'system',
        );
        // A resume's own timeline entry names the event, not why it came now.
        if (applied.decision === 'resumed' && applied.workId)
          await this.works.appendEvent(
            client,
            applied.workId,
            'event_rerouted',
            { eventId: event.id, fromWorkId: endedWorkId, reason: applied.reason },
            'system',
          );
        this.logger.info(
          { eventId: event.id, fromWorkId: endedWorkId, decision: applied.decision },
          `event ${applied.decision}: ${applied.reason}`,
        );
        return out;
      });
    } catch (err) {
      translateDatabaseError(err);
    }
    if (!dispatches.length) return;
    await this.dispatcher
      .dispatch(dispatches)
      .catch((err: Error) =>
        this.logger.warn(
          { eventId: seen.id, err: err.message },
          'enqueue after commit failed; the reconciler will retry',
        ),
      );
  }
}

/**
 * The stored event as a channel would hand it in, minus what made it explicit at the
 * time (a reply to the ended work's message, a button): it is routed on its
 * conversation and correlation key now. An event stored before route policies were
 * kept routes as its ended work's kind would open.
 */
function toInput(event: StoredEvent, endedKind: string | null): InboundEventInput {
  const fallback: RoutePolicy = { openKind: endedKind, busyPolicy: 'inbox', collectWindowMs: 0 };
  return {
    channel: event.channel,
    source: event.source,
    externalId: event.externalId,
    conversationKey: event.conversationKey,
    correlationKey: event.correlationKey,
    actor: event.actor,
    raw: event.raw,
    body: event.body,
    answer: event.answer,
    reference: null,
    command: null,
    route: event.routePolicy ?? fallback,
    replyTo: null,
    button: null,
    replyAddress: event.replyAddress ?? null,
  };
}
