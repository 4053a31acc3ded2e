import { z } from 'zod';
import { CONVERSATION_DECISIONS } from '@app/ledger';
import { OUTBOX_STATUSES } from './api.schemas';

/*
 * A work's conversation (GET /api/v1/works/{id}/conversation): what people said to a
 * chat work and what it sent back, in time order, for the dashboard's transcript.
 */

export const CONVERSATION_LIMIT_MAX = 1000;

export const conversationQuery = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(CONVERSATION_LIMIT_MAX)
    .default(200)
    .describe(`how many of the newest messages (1-${CONVERSATION_LIMIT_MAX})`),
});
export type ConversationQuery = z.output<typeof conversationQuery>;

const dateTime = z.iso.datetime();

const inboundChatMessageSchema = z
  .object({
    direction: z.literal('inbound'),
    id: z.uuid().describe('the inbound event id'),
    at: dateTime.describe('when the gateway received it'),
    channel: z.string(),
    from: z.string().nullable().describe('the sender’s name, else their channel-scoped id'),
    actorId: z.string().nullable().describe('channel-scoped sender id, e.g. telegram:111'),
    text: z.string().describe('the message text, or the label of the button pressed'),
    decision: z
      .enum(CONVERSATION_DECISIONS)
      .describe('how it reached the work: opened it, answered its wait, its inbox…'),
    read: z.boolean().describe('false only for an inbox message the work has not read yet'),
  })
  .meta({ id: 'InboundChatMessage' });

const outboundChatMessageSchema = z
  .object({
    direction: z.literal('outbound'),
    id: z.uuid().describe('the outbox message id'),
    at: dateTime.describe('when the work wrote it'),
    channel: z.string(),
    target: z.string().describe('the channel address it goes to'),
    kind: z
      .string()
      .describe(
        'message (ctx.send), ask (a wait’s prompt), notice (the gateway’s reply), answered (the prompt edited to say who answered)',
      ),
    text: z.string().nullable(),
    choices: z.array(z.string()).describe('the buttons of an ask, by label'),
    answeredBy: z.string().nullable().describe('on an `answered` edit: who answered'),
    answer: z.unknown().describe('on an `answered` edit: the answer; else null'),
    status: z.enum(OUTBOX_STATUSES).describe('delivery: pending, sent, failed, cancelled'),
    attempts: z.number().int(),
    sentAt: dateTime.nullable(),
    lastError: z.string().nullable().describe('why the last delivery attempt failed'),
  })
  .meta({ id: 'OutboundChatMessage' });

export const conversationSchema = z
  .object({
    items: z
      .array(
        z.discriminatedUnion('direction', [inboundChatMessageSchema, outboundChatMessageSchema]),
      )
      .describe('oldest first: the newest `limit` messages'),
    truncated: z.boolean().describe('true when older messages were left out'),
  })
  .meta({ id: 'Conversation' });
