import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { APP_CONFIG, type AppConfig } from '@app/config';
import {
  chatHelpText,
  type InboundEventInput,
  LIVE_STATES,
  type WorkState,
  workLabel,
} from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WorkRepository } from '../work/work.repository';
import { ChatReplies } from './chat-replies';
import { ChatResponders } from './chat-responders';
import { type ChatApplied, messageIdOf } from './chat.types';
import { actorOf } from './ingest-event.util';

type LiveWork = {
  id: string;
  kind: string;
  title: string | null;
  input: unknown;
  state: WorkState;
  waitReason: string | null;
  createdAt: Date;
};

/** One command's answer: a notice to the chat, and the decision the event records. */
type Answer = (
  text: string,
  reason: string,
  workId?: string | null,
  more?: Dispatch[],
) => Promise<ChatApplied>;

/**
 * The chat commands the gateway answers itself, in the ingest transaction: `/status`
 * lists the conversation's live works, `/cancel` cancels the one live work there (or
 * the one a reply names) for the people allowed to, `/help` (and Telegram's `/start`)
 * says what the bot does and lists the commands.
 */
@Injectable()
export class ChatCommands {
  constructor(
    private readonly works: WorkRepository,
    private readonly replies: ChatReplies,
    private readonly responders: ChatResponders,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'telegram' | 'slack'>,
  ) {}

  async command(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
  ): Promise<ChatApplied> {
    if (event.command === 'help') {
      const text = chatHelpText(event.channel, this.descriptionOf(event));
      return this.replies
        .reply(client, eventId, event, null, { kind: 'notice', text, replyTo: messageIdOf(event) })
        .then((dispatches) => ({
          decision: 'command',
          reason: 'help',
          workId: null,
          waitId: null,
          dispatches,
        }));
    }
    const live = event.reference
      ? await this.liveWorks(client, null, [event.reference.workId])
      : await this.liveWorks(client, event.conversationKey, null);
    const answer: Answer = (text, reason, workId = null, more = []) =>
      this.replies
        .reply(client, eventId, event, workId, {
          kind: 'notice',
          text,
          replyTo: messageIdOf(event),
        })
        .then((sent): ChatApplied => ({
          decision: 'command',
          reason,
          workId,
          waitId: null,
          dispatches: [...more, ...sent],
        }));
    if (event.command === 'status') return status(live, answer);
    return this.cancel(client, eventId, event, live, answer);
  }

  /** The bot's or workspace's `description`; the event's source is its config name. */
  private descriptionOf(event: InboundEventInput): string | undefined {
    const configured =
      event.channel === 'telegram'
        ? this.config.telegram.bots
        : event.channel === 'slack'
          ? this.config.slack.workspaces
          : {};
    return Object.hasOwn(configured, event.source)
      ? (configured as Record<string, { description?: string }>)[event.source]?.description
      : undefined;
  }

  /** `/cancel`: only when it is clear which work is meant. */
  private async cancel(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    live: LiveWork[],
    answer: Answer,
  ): Promise<ChatApplied> {
    if (live.length !== 1) {
      return answer(
        live.length
          ? `${live.length} works are live here; reply /cancel to a message of the one to stop.`
          : 'Nothing is running here.',
        `/cancel: ${live.length} live works, none cancelled`,
      );
    }
    const work = live[0]!;
    const actor = actorOf(event);
    if (!(await this.mayCancel(client, work.id, event.actor?.id ?? null))) {
      return answer(
        `Sorry, only the person who started ${work.kind} ${work.id.slice(-6)}, or who may answer it, can cancel it.`,
        `/cancel refused: ${actor} did not start work ${work.id} and may not answer it`,
        work.id,
      );
    }
    const applied = await this.works.apply(
      client,
      work.id,
      { type: 'cancel' },
      { actor, data: { eventId, command: '/cancel' } },
    );
    return applied.ok
      ? answer(
          `Cancelled ${work.kind} ${work.id.slice(-6)}.`,
          `/cancel cancelled work ${work.id}`,
          work.id,
          applied.dispatches,
        )
      : answer(
          `Could not cancel: ${applied.reason}`,
          `/cancel refused: ${applied.reason}`,
          work.id,
        );
  }

  /**
   * `/cancel` from a chat: the work's starter (the actor of the event that opened it,
   * or an identity linked to them) or a person its open waits name as responders. A
   * work with neither (started by an operator, asking no one in particular) may be
   * cancelled by anyone on its conversation, as before.
   */
  private async mayCancel(
    client: PoolClient,
    workId: string,
    actorId: string | null,
  ): Promise<boolean> {
    const { rows } = await client.query<{ starter: string | null; responders: unknown }>(
      `SELECT (SELECT e.actor->>'id' FROM "InboundEvent" e WHERE e.id = CASE WHEN k."sourceId" ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN k."sourceId"::uuid END) AS starter,
              (SELECT json_agg(w.responders) FROM "Wait" w WHERE w."workId" = k.id AND w.status = 'open') AS responders
       FROM "Work" k WHERE k.id = $1`,
      [workId],
    );
    const row = rows[0];
    if (!row) return false;
    const named = (Array.isArray(row.responders) ? row.responders : [])
      .filter((r): r is string[] => Array.isArray(r) && r.length > 0)
      .flat();
    if (!row.starter && named.length === 0) return true;
    const people = [...(row.starter ? [row.starter] : []), ...named];
    return this.responders.mayAnswer({ responders: people }, actorId);
  }

  private async liveWorks(
    client: PoolClient,
    conversationKey: string | null,
    ids: string[] | null,
  ): Promise<LiveWork[]> {
    const { rows } = await client.query<LiveWork>(
      `SELECT id, kind, title, input, state, "waitReason", "createdAt" FROM "Work"
       WHERE state = ANY($1::"WorkState"[]) AND (${ids ? 'id = ANY($2::uuid[])' : '"conversationKey" = $2'})
       ORDER BY "createdAt" LIMIT 20`,
      [LIVE_STATES, ids ?? conversationKey],
    );
    return rows;
  }
}

/** `/status`: the conversation's live works, one line each. */
function status(live: LiveWork[], answer: Answer): Promise<ChatApplied> {
  const text = live.length
    ? live
        .map(
          (w) =>
            `• ${workLabel(w)} (${w.id.slice(-6)}) — ${w.state.toLowerCase()}${w.waitReason ? ` (${w.waitReason})` : ''}, since ${w.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
        )
        .join('\n')
    : 'Nothing is running here.';
  return answer(text, `/status: ${live.length} live work(s)`);
}
