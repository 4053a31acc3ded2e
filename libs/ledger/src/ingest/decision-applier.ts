import { Inject, Injectable, Optional } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  DEFAULT_RETRY_POLICY,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type RouteOutcome,
  typedAnswer,
} from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WaitRepository, type WaitRow } from '../waits/wait.repository';
import { WorkRepository } from '../work/work.repository';
import { AnswerValidator } from './answer-validator';
import { ChatReplies } from './chat-replies';
import { InboxWriter } from './inbox-writer';
import { actorOf } from './ingest-event.util';
import {
  type Applied,
  DECISION_BY_OUTCOME,
  type Ended,
  WORKFLOW_DEFAULTS,
  type WorkflowDefaults,
} from './ingest.types';
import { LockedResume } from './locked-resume';

type Outcome<D extends RouteOutcome['decision']> = Extract<RouteOutcome, { decision: D }>;

const NONE = { workId: null, waitId: null } as const;

/**
 * Writes what route() decided for an event, inside the ingest transaction that holds
 * the event's conversation locks: open a work, resume a wait (LockedResume), put the
 * event in a live work's inbox (and interrupt its run), reject it with a reply, ask
 * which work was meant, or drop it.
 */
@Injectable()
export class DecisionApplier {
  constructor(
    private readonly works: WorkRepository,
    private readonly waits: WaitRepository,
    private readonly validator: AnswerValidator,
    private readonly replies: ChatReplies,
    private readonly inbox: InboxWriter,
    private readonly resumer: LockedResume,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Optional() @Inject(WORKFLOW_DEFAULTS) private readonly defaults?: WorkflowDefaults,
  ) {}

  async apply(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: RouteOutcome,
    loaded: Map<string, WaitRow>,
  ): Promise<Applied | Ended> {
    switch (outcome.decision) {
      case 'open':
        return this.open(client, eventId, event, outcome);
      case 'resume':
        return this.resumer.resume(client, eventId, event, outcome, loaded);
      case 'inbox':
      case 'collect':
      case 'interrupt':
        return this.intoInbox(client, eventId, event, outcome);
      case 'reject':
        return this.reject(client, eventId, event, outcome, loaded);
      case 'ask-which':
        return {
          ...NONE,
          decision: 'asked' as const,
          reason: `${outcome.reason}: ${outcome.workIds.join(', ')}`,
          dispatches: await this.replies.askWhich(client, eventId, event, outcome.workIds),
          feedback: 'Which one? See the question in the chat.',
        };
      case 'drop':
        return { ...NONE, dispatches: [], decision: 'dropped' as const, reason: outcome.reason };
    }
  }

  private async open(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: Outcome<'open'>,
  ): Promise<Applied> {
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
        title: event.title ?? null,
      },
      actorOf(event),
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

  private async intoInbox(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: Outcome<'inbox' | 'collect' | 'interrupt'>,
  ): Promise<Applied | Ended> {
    if (outcome.workId === null)
      return { ...NONE, dispatches: [], decision: 'inbox' as const, reason: outcome.reason };
    const inboxed = await this.inbox.toInbox(
      client,
      eventId,
      event,
      outcome.workId,
      outcome.reason,
      DECISION_BY_OUTCOME[outcome.decision],
      // A `collect` part is held back from ctx.inbox() until its burst has been quiet this long.
      outcome.decision === 'collect' ? outcome.windowMs : null,
    );
    if ('ended' in inboxed || outcome.decision !== 'interrupt') return inboxed;
    // The run sees this at its next heartbeat, or at once when the nudge reaches
    // its worker, and cuts the running step short; the work restarts from its last
    // inbox read and so sees this event.
    const { rowCount } = await client.query(
      `UPDATE "Work" SET "interruptRequestedAt" = now() WHERE id = $1 AND state IN ('RUNNING', 'QUEUED')`,
      [outcome.workId],
    );
    if (!rowCount) return inboxed;
    const nudge: Dispatch = { type: 'nudge', workId: outcome.workId };
    return { ...inboxed, dispatches: [...inboxed.dispatches, nudge] };
  }

  private async reject(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    outcome: Outcome<'reject'>,
    loaded: Map<string, WaitRow>,
  ): Promise<Applied> {
    if (outcome.workId)
      await this.inbox.noteOnTimeline(
        client,
        outcome.workId,
        eventId,
        'rejected',
        outcome.reason,
        actorOf(event),
      );
    // A wait that did not take the answer asks again (the wait stays open); a
    // busy work says so.
    const wait = outcome.waitId
      ? (loaded.get(outcome.waitId) ?? (await this.waits.find(client, outcome.waitId)))
      : null;
    const replied = wait
      ? await this.replies.reprompt(
          client,
          eventId,
          event,
          wait,
          this.validationError(wait, event) ?? 'not what was asked',
        )
      : {
          dispatches: await this.replies.busy(
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

  private validationError(wait: WaitRow, event: InboundEventInput): string | null {
    const verdict = this.validator.validate(wait.expects, typedAnswer(wait.expects, event.answer));
    return verdict.ok ? null : verdict.error;
  }
}
