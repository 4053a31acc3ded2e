import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type InboundEventInput } from '@app/core';
import { ChatReplies } from './chat-replies';
import { type ChatApplied, messageIdOf } from './chat.types';

/** The reason a rate-limited event is recorded with (and how the next one knows it was said). */
export const RATE_LIMITED = 'rate limited';

/**
 * `chat.rateLimit`: at most `messages` events per conversation in `window`. Counted in
 * the ledger, under the conversation lock ingest holds, from the conversation's last
 * events (the (conversationKey, seq) index): every replica sees the same count, and
 * nothing in Redis has to survive for it. An event over the limit is still recorded —
 * it was acknowledged — as `dropped` with its reason; the person is told once per
 * streak, not once per message.
 */
@Injectable()
export class ChatRateLimit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly replies: ChatReplies,
  ) {}

  async check(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
  ): Promise<ChatApplied | null> {
    const { messages, window, reply } = this.config.chat.rateLimit;
    // Chat messages only: a button press or a command (/cancel!) is how a person stops
    // what they started, and webhooks and the API have limits of their own.
    if (!messages || !event.conversationKey || !event.replyAddress) return null;
    if (event.button || event.command) return null;
    const { rows } = await client.query<{ recent: boolean; reason: string }>({
      name: 'chat-rate-limit',
      text: `SELECT "receivedAt" > now() - $3 * interval '1 millisecond' AS recent, reason
        FROM "InboundEvent" WHERE "conversationKey" = $1 AND id <> $2
        ORDER BY seq DESC LIMIT $4`,
      values: [event.conversationKey, eventId, window, messages],
    });
    // Over the limit when the last `messages` events before this one all fall in the window.
    if (rows.length < messages || !rows.at(-1)!.recent) return null;
    const told = rows[0]!.reason.startsWith(RATE_LIMITED);
    const dispatches = told
      ? []
      : await this.replies.reply(client, eventId, event, null, {
          kind: 'notice',
          text: reply,
          replyTo: messageIdOf(event),
          ...(event.actor ? { ephemeralTo: event.actor.id } : {}),
        });
    return {
      decision: 'dropped',
      reason: `${RATE_LIMITED}: more than ${messages} messages in ${window} ms on this conversation`,
      workId: null,
      waitId: null,
      dispatches,
    };
  }
}
