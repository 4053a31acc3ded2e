import { verifyButtonToken } from '@app/security';
import {
  answerOf,
  type ChatCommand,
  type InboundEventInput,
  type RoutePolicy,
  conversationKeyOf,
  scopedExternalId,
} from '@app/core';
import { addressedInGroup, groupParty, isGroupChat } from './telegram-groups';
import { telegramAttachments } from './telegram-media';
import {
  type TelegramCallbackQuery,
  type TelegramMessage,
  type TelegramUpdate,
  type TelegramUser,
} from './telegram-payloads';

export const TELEGRAM_CHANNEL = 'telegram';

/** What normalization needs to know about the bot an update was sent to. */
export interface TelegramBotRef {
  name: string;
  /** The bot's user id (the token's prefix): tells replies to the bot from other replies. */
  botId: number;
  /** The bot's @username, when configured: `/cmd@otherbot` is then not for us. */
  username?: string;
  route: RoutePolicy;
  /** In groups, take only messages that mention or reply to the bot, and commands (default true). */
  requireMention?: boolean;
}

/**
 * What one update becomes. Every callback query carries its id, because Telegram shows a
 * spinner until answerCallbackQuery is called: it is answered whatever happened to it.
 */
export type TelegramOutcome =
  | { kind: 'event'; event: InboundEventInput; callbackQueryId?: string }
  /** A button whose callback_data is not a valid workgate token: nothing is ingested. */
  | { kind: 'forged_button'; callbackQueryId: string; reason: string }
  | { kind: 'ignored'; reason: string; callbackQueryId?: string; feedback?: string };

/** The commands this bot answers, by the name typed; `/start` is `/help`, `/reset` is `/new`. */
const COMMANDS = new Map<string, ChatCommand>([
  ['new', 'new'],
  ['reset', 'new'],
  ['cancel', 'cancel'],
  ['status', 'status'],
  ['forget', 'forget'],
  ['memory', 'memory'],
  ['help', 'help'],
  ['start', 'help'],
]);

/** Shown to the presser of a button workgate cannot verify. */
export const FORGED_BUTTON_FEEDBACK = 'This button is not valid (it was not sent by workgate).';

/** `<bot>:<chatId>` or `<bot>:<chatId>:<topicId>` (OutboundPayload's Telegram target). */
export function telegramTarget(bot: string, chatId: number | string, topicId?: number): string {
  return topicId === undefined ? `${bot}:${chatId}` : `${bot}:${chatId}:${topicId}`;
}

/** Parses a Telegram target; chat ids are numbers (negative for groups) or `@channelname`. */
export function parseTelegramTarget(
  target: string,
): { bot: string; chatId: number | string; topicId?: number } | null {
  const parts = target.split(':');
  if (parts.length < 2 || parts.length > 3) return null;
  const [bot, chat, topic] = parts as [string, string, string | undefined];
  if (!bot) return null;
  let chatId: number | string;
  if (/^-?\d{1,20}$/.test(chat)) chatId = Number(chat);
  else if (/^@[A-Za-z0-9_]{4,64}$/.test(chat)) chatId = chat;
  else return null;
  if (topic === undefined) return { bot, chatId };
  if (!/^\d{1,12}$/.test(topic)) return null;
  return { bot, chatId, topicId: Number(topic) };
}

/**
 * A leading command of COMMANDS (also `/status@botname`, Telegram's form in groups) and
 * the text after it (`/start <payload>` keeps its payload as text). A command addressed
 * to another bot is flagged, so the caller can leave it alone; unknown commands stay
 * plain text.
 */
export function parseTelegramCommand(
  text: string,
  botUsername: string | undefined,
): { command: ChatCommand | null; text: string; addressedElsewhere: boolean } {
  const match = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)/.exec(text);
  if (!match) return { command: null, text: text.trim(), addressedElsewhere: false };
  const name = match[1]!.toLowerCase();
  const addressee = match[2];
  const addressedElsewhere =
    !!addressee && !!botUsername && addressee.toLowerCase() !== botUsername.toLowerCase();
  if (addressedElsewhere) return { command: null, text: text.trim(), addressedElsewhere };
  const command = COMMANDS.get(name) ?? null;
  if (!command) return { command: null, text: text.trim(), addressedElsewhere: false };
  return { command, text: text.slice(match[0].length).trim(), addressedElsewhere: false };
}

function displayName(user: TelegramUser): string | undefined {
  const full = [user.first_name, user.last_name].filter(Boolean).join(' ');
  return full || (user.username ? `@${user.username}` : undefined);
}

function actorOf(user: TelegramUser): InboundEventInput['actor'] {
  const name = displayName(user);
  return name ? { id: `telegram:${user.id}`, name } : { id: `telegram:${user.id}` };
}

function sender(user: TelegramUser) {
  return { id: user.id, username: user.username ?? null, name: displayName(user) ?? null };
}

/**
 * The forum topic a message belongs to. `message_thread_id` alone also marks reply
 * threads in ordinary supergroups; only `is_topic_message` makes it a topic. Messages in
 * a forum's General topic have neither and belong to the chat itself.
 */
function topicOf(message: TelegramMessage): number | undefined {
  return message.is_topic_message && message.message_thread_id !== undefined
    ? message.message_thread_id
    : undefined;
}

/** The label of the inline button whose callback_data was pressed, for the timeline. */
function buttonLabel(message: TelegramMessage | undefined, data: string): string | null {
  const markup = (message as { reply_markup?: { inline_keyboard?: unknown } } | undefined)
    ?.reply_markup?.inline_keyboard;
  if (!Array.isArray(markup)) return null;
  for (const row of markup as unknown[]) {
    if (!Array.isArray(row)) continue;
    for (const button of row as Array<{ text?: unknown; callback_data?: unknown }>) {
      if (button?.callback_data === data && typeof button.text === 'string') return button.text;
    }
  }
  return null;
}

/**
 * One update → what to ingest. The dedupe key is (bot, update_id) for every kind: an
 * update id is unique per bot across messages, edits and callbacks, and a redelivery
 * (webhook retry, a poller re-fetching after a crash) repeats it unchanged.
 */
export function classifyTelegramUpdate(
  update: TelegramUpdate,
  bot: TelegramBotRef,
  buttonSecrets: string[],
): TelegramOutcome {
  if (update.callback_query)
    return classifyCallback(update, update.callback_query, bot, buttonSecrets);
  const message = update.message ?? update.edited_message;
  if (!message) return { kind: 'ignored', reason: 'an update kind workgate does not handle' };
  return classifyMessage(update, message, !update.message, bot);
}

function classifyMessage(
  update: TelegramUpdate,
  message: TelegramMessage,
  edited: boolean,
  bot: TelegramBotRef,
): TelegramOutcome {
  const from = message.from;
  // No `from`: a channel post or a message sent on behalf of a chat; is_bot: another bot
  // (or a group's anonymous admin). Neither is a person talking to us.
  if (!from) return { kind: 'ignored', reason: 'a message without a sender' };
  if (from.is_bot) return { kind: 'ignored', reason: 'a message from a bot' };
  const externalId = scopedExternalId(bot.name, String(update.update_id));
  const attachments = telegramAttachments(message, bot.name, externalId);
  // A photo, file or voice note without a caption is a message too: its text is empty.
  const raw = message.text ?? message.caption ?? (attachments.length ? '' : undefined);
  if (raw === undefined) {
    return { kind: 'ignored', reason: 'a message without text or a file (a service message)' };
  }
  // An edit is not a new request: it never runs a command and never opens a work, but
  // it still answers an open wait or reaches a live work's inbox (as edited text).
  const parsed = edited
    ? { command: null, text: raw.trim(), addressedElsewhere: false }
    : parseTelegramCommand(raw, bot.username);
  if (parsed.addressedElsewhere) return { kind: 'ignored', reason: 'a command for another bot' };

  const topicId = topicOf(message);
  const target = telegramTarget(bot.name, message.chat.id, topicId);
  const replied = message.reply_to_message;
  // In a forum every topic message "replies" to the topic's root service message; only a
  // reply to one of the bot's own messages can name a work (fixtures README).
  const repliesToBot =
    !!replied && replied.from?.id === bot.botId && replied.message_id !== topicId;
  const group = isGroupChat(message.chat.type);
  if (group) {
    const heard = addressedInGroup(message, raw, parsed.text, bot, {
      replied: repliesToBot,
      command: parsed.command !== null,
    });
    if (!heard.addressed && bot.requireMention !== false)
      return { kind: 'ignored', reason: 'a group message not addressed to the bot' };
    parsed.text = heard.text;
  }
  const party = groupParty(message.chat.type, from.id);
  const address = { channel: TELEGRAM_CHANNEL, target, ...(party ? { party } : {}) };

  const event: InboundEventInput = {
    channel: TELEGRAM_CHANNEL,
    source: bot.name,
    externalId,
    conversationKey: conversationKeyOf(address),
    correlationKey: null,
    actor: actorOf(from),
    raw: update,
    body: {
      text: parsed.text,
      ...(attachments.length ? { attachments } : {}),
      messageId: message.message_id,
      chatId: message.chat.id,
      chatType: message.chat.type,
      topicId: topicId ?? null,
      updateId: update.update_id,
      date: message.date,
      edited,
      ...(edited && message.edit_date !== undefined ? { editDate: message.edit_date } : {}),
      from: sender(from),
      replyToMessageId: replied?.message_id ?? null,
      command: parsed.command,
    },
    answer: answerOf(parsed.text, attachments),
    reference: null,
    command: parsed.command,
    route: edited ? { ...bot.route, openKind: null } : bot.route,
    replyTo: repliesToBot ? { target, providerMessageId: String(replied.message_id) } : null,
    button: null,
    replyAddress: address,
  };
  return { kind: 'event', event };
}

function classifyCallback(
  update: TelegramUpdate,
  query: TelegramCallbackQuery,
  bot: TelegramBotRef,
  buttonSecrets: string[],
): TelegramOutcome {
  const callbackQueryId = query.id;
  if (query.data === undefined) {
    return { kind: 'ignored', reason: 'a callback query without data (a game)', callbackQueryId };
  }
  // callback_data comes from the user's client, not from Telegram's servers: a modified
  // client can send any 1-64 bytes, so only a token we signed may answer anything.
  const press = verifyButtonToken(query.data, buttonSecrets);
  if (!press) {
    return {
      kind: 'forged_button',
      callbackQueryId,
      reason: 'callback_data is not a valid workgate button token',
    };
  }
  const message = query.message;
  if (!message) {
    // Telegram leaves `message` out when the button's message is too old to send along
    // (or belongs to an inline message): there is no chat to route the press in.
    return {
      kind: 'ignored',
      reason: 'a button press without its message',
      callbackQueryId,
      feedback: 'This question is too old to answer here.',
    };
  }
  const topicId = topicOf(message);
  const target = telegramTarget(bot.name, message.chat.id, topicId);
  // The presser's conversation: their "which one?" picks and their replies stay theirs.
  const party = groupParty(message.chat.type, query.from.id);
  const address = { channel: TELEGRAM_CHANNEL, target, ...(party ? { party } : {}) };
  const event: InboundEventInput = {
    channel: TELEGRAM_CHANNEL,
    source: bot.name,
    externalId: scopedExternalId(bot.name, String(update.update_id)),
    conversationKey: conversationKeyOf(address),
    correlationKey: null,
    actor: actorOf(query.from),
    raw: update,
    body: {
      text: buttonLabel(message, query.data),
      messageId: message.message_id,
      chatId: message.chat.id,
      chatType: message.chat.type,
      topicId: topicId ?? null,
      updateId: update.update_id,
      callbackQueryId,
      from: sender(query.from),
      choice: press.choice,
    },
    // The ingest service maps the verified choice to the wait's value.
    answer: null,
    reference: null,
    command: null,
    // A press answers or picks; a stale one must never open a work.
    route: { ...bot.route, openKind: null },
    replyTo: null,
    button: press,
    replyAddress: address,
  };
  return { kind: 'event', event, callbackQueryId };
}
