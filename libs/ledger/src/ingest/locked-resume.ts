import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type InboundEventInput, type RouteOutcome, typedAnswer, wrapStepOutput } from '@app/core';
import { WaitRepository, type WaitRow } from '../waits/wait.repository';
import { type WorkRow } from '../work/work-row';
import { WorkRepository } from '../work/work.repository';
import { ChatReplies } from './chat-replies';
import { ChatResponders } from './chat-responders';
import { InboxWriter } from './inbox-writer';
import { actorOf, isPersonal } from './ingest-event.util';
import { type Applied, type Ended } from './ingest.types';
import { RESUME } from './locked-ingest.sql';

type Resume = Extract<RouteOutcome, { decision: 'resume' }>;

/**
 * route()'s `resume`, under the ingest transaction's locks: the answer satisfies the
 * wait (RESUME) and the work moves on (wait_satisfied) — unless the answerer may not
 * answer a person's wait (refused, the wait stays open) or a timeout resolved the wait
 * a moment earlier (the answer goes to the inbox).
 */
@Injectable()
export class LockedResume {
  constructor(
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly replies: ChatReplies,
    private readonly responders: ChatResponders,
    private readonly inbox: InboxWriter,
  ) {}

  async resume(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: Resume,
    loaded: Map<string, WaitRow>,
  ): Promise<Applied | Ended> {
    // The candidates query read this wait in this transaction, under the conversation
    // lock; only a timeout can have resolved it since, which the RESUME statement sees.
    const wait = loaded.get(outcome.waitId) ?? (await this.waits.find(client, outcome.waitId));
    const personal = !!wait && isPersonal(wait);
    if (personal && !this.responders.mayAnswer(wait, event.actor?.id ?? null))
      return this.refuse(client, eventId, event, wait);
    // Conditional on the wait still being open: a timeout firing at the same
    // instant updates the same row, and exactly one of the two UPDATEs matches.
    // "yes" typed to a yes/no question is `true`, as the Approve button is.
    const answer = wait ? typedAnswer(wait.expects, event.answer ?? null) : (event.answer ?? null);
    const { rows } = await client.query<WorkRow>({
      name: 'ingest-resume',
      text: RESUME,
      values: [
        outcome.waitId,
        JSON.stringify(answer),
        eventId,
        // As WaitRepository.resolve() completes a step: its output wrapped as { v }.
        JSON.stringify(wrapStepOutput(answer)),
        'resumed',
        outcome.reason,
      ],
    });
    if (rows.length === 0) {
      return this.inbox.toInbox(
        client,
        eventId,
        event,
        outcome.workId,
        `wait ${outcome.waitId} was resolved a moment earlier; kept in the inbox`,
      );
    }
    const dispatches = await this.transition(client, rows[0]!, eventId, event, outcome);
    const edits = personal
      ? await this.replies.answered(client, eventId, { ...event, answer }, wait)
      : [];
    return {
      decision: 'resumed' as const,
      reason: outcome.reason,
      workId: outcome.workId,
      waitId: outcome.waitId,
      dispatches: [...dispatches, ...edits],
      ...(event.button ? { feedback: 'Thanks, answered.' } : {}),
      recorded: true,
    };
  }

  /** wait_satisfied on the work RESUME locked and returned. */
  private async transition(
    client: PoolClient,
    work: WorkRow,
    eventId: string,
    event: InboundEventInput,
    outcome: Resume,
  ) {
    if (!work.id) throw new Error(`wait ${outcome.waitId} has no work ${outcome.workId}`);
    const opts = { actor: actorOf(event), data: { eventId, waitId: outcome.waitId } };
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
    return applied.dispatches;
  }

  /** Someone who is not among a person's wait's responders answered it. */
  private async refuse(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    wait: WaitRow,
  ): Promise<Applied> {
    const actor = actorOf(event);
    const refused = await this.replies.refuse(client, eventId, event, wait);
    await this.inbox.noteOnTimeline(
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
}
