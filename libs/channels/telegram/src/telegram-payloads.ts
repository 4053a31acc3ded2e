import { z } from 'zod';
import { assertJsonDepth, assertStorableJson, parseJsonBody } from '@app/channels/core';
import { ErrorCode, WorkgateError } from '@app/core';

/**
 * The parts of a Telegram Update workgate reads, validated with zod. Objects are loose:
 * the Bot API adds fields with every version and the whole update is kept as `raw`.
 * Shapes: core.telegram.org/bots/api#update, #message, #callbackquery (and
 * test/fixtures/telegram).
 */

export const telegramUserSchema = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  username: z.string().optional(),
});
export type TelegramUser = z.infer<typeof telegramUserSchema>;

export const telegramChatSchema = z.looseObject({
  id: z.number().int(),
  type: z.string(),
  title: z.string().optional(),
  username: z.string().optional(),
  is_forum: z.boolean().optional(),
});

/** The message a reply points at: only who wrote it and where it sits matter. */
const repliedMessageSchema = z.looseObject({
  message_id: z.number().int(),
  message_thread_id: z.number().int().optional(),
  from: telegramUserSchema.optional(),
  forum_topic_created: z.unknown().optional(),
});

export const telegramMessageSchema = z.looseObject({
  message_id: z.number().int(),
  message_thread_id: z.number().int().optional(),
  is_topic_message: z.boolean().optional(),
  from: telegramUserSchema.optional(),
  sender_chat: telegramChatSchema.optional(),
  chat: telegramChatSchema,
  date: z.number().int(),
  edit_date: z.number().int().optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  /** Mentions, commands, links: read loosely (telegram-groups.ts checks each entity). */
  entities: z.array(z.unknown()).optional(),
  caption_entities: z.array(z.unknown()).optional(),
  reply_to_message: repliedMessageSchema.optional(),
});
export type TelegramMessage = z.infer<typeof telegramMessageSchema>;

export const telegramCallbackQuerySchema = z.looseObject({
  id: z.string().min(1),
  from: telegramUserSchema,
  /** Absent when the button's message is too old (or an inline message). */
  message: telegramMessageSchema.optional(),
  inline_message_id: z.string().optional(),
  chat_instance: z.string().optional(),
  data: z.string().optional(),
});
export type TelegramCallbackQuery = z.infer<typeof telegramCallbackQuerySchema>;

export const telegramUpdateSchema = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: telegramMessageSchema.optional(),
  edited_message: telegramMessageSchema.optional(),
  callback_query: telegramCallbackQuerySchema.optional(),
});
export type TelegramUpdate = z.infer<typeof telegramUpdateSchema>;

/** The update kinds workgate asks for (setWebhook / getUpdates `allowed_updates`). */
export const TELEGRAM_ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query'] as const;

/** A parsed JSON value as an Update, or a 400 naming what is wrong. */
export function parseTelegramUpdate(doc: unknown): TelegramUpdate {
  const parsed = telegramUpdateSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      `The body is not a Telegram Update: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}.`,
    );
  }
  return parsed.data;
}

/**
 * The update with every string made storable in jsonb: `\u0000` and unpaired UTF-16
 * surrogates become U+FFFD. Webhooks refuse such bodies with 400 (they are the sender's
 * mistake), but an authentic Telegram update refused is redelivered for 24 hours and,
 * polled, would stall the bot at that offset: a replaced character beats a lost message.
 */
export function storableUpdate(doc: unknown): unknown {
  if (typeof doc === 'string') return doc.replace(/\u0000/g, '\uFFFD').toWellFormed();
  if (Array.isArray(doc)) return doc.map(storableUpdate);
  if (doc !== null && typeof doc === 'object') {
    return Object.fromEntries(
      Object.entries(doc).map(([k, v]) => [storableUpdate(k) as string, storableUpdate(v)]),
    );
  }
  return doc;
}

/** An update as received (webhook body or getUpdates item): storable, shaped like an Update. */
export function toTelegramUpdate(doc: unknown): TelegramUpdate {
  // Before storableUpdate, which recurses: 10 000 levels would overflow the stack (500).
  assertJsonDepth(doc);
  const storable = storableUpdate(doc);
  // Depth is the one thing a replacement cannot fix; Telegram never nests that deep.
  assertStorableJson(storable);
  return parseTelegramUpdate(storable);
}

/** A webhook body: strict UTF-8 JSON, then as toTelegramUpdate. */
export function parseTelegramUpdateBody(bytes: Uint8Array): TelegramUpdate {
  return toTelegramUpdate(parseJsonBody(bytes));
}
