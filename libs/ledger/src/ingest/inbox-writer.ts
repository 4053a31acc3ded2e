import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type InboundEventInput, type IngestDecision, isTerminal } from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WorkRepository } from '../work/work.repository';
import { actorOf } from './ingest-event.util';
import { type Applied, type Ended } from './ingest.types';

/**
 * Puts an event into a live work's inbox (inbox, collect, interrupt, and a resume that
 * lost its wait to a timeout) and notes on a work's timeline what became of an event.
 */
@Injectable()
export class InboxWriter {
  constructor(private readonly works: WorkRepository) {}

  /**
   * Into the work's inbox — unless the work has ended: its row lock, taken here, is the
   * one every terminal transition holds, so a work seen live under it reads or re-routes
   * this event (its end marks its unread inbox), and one seen ended returns `Ended`.
   */
  async toInbox(
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
    await this.noteOnTimeline(client, workId, eventId, decision, reason, actorOf(event));
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

  async noteOnTimeline(
    client: PoolClient,
    workId: string,
    eventId: string,
    decision: IngestDecision,
    reason: string,
    actor: string,
  ): Promise<void> {
    await this.works.lock(client, workId);
    await this.works.appendEvent(
      client,
      workId,
      'event_received',
      { eventId, decision, reason },
      actor,
    );
  }
}
