import { type InlineKeyboardButton, type Opts } from 'telegraf/types';
import { signButtonToken } from '@app/security';
import {
  type OutboundAnsweredPayload,
  type OutboundAskPayload,
  type OutboundMessagePayload,
  type OutboundNoticePayload,
  type OutboundPayload,
  askChoices,
  answeredLine,
  askRung,
  type ChatFormat,
  markdownToTelegramHtml,
  telegramVisibleLength,
} from '@app/core';

/** A Bot API call an outbound payload becomes (also ChannelAdapter.renderAsk's answer). */
export type TelegramCall =
  | { method: 'sendMessage'; args: Opts<'sendMessage'> }
  | { method: 'editMessageText'; args: Opts<'editMessageText'> };

/** Where a call goes: the chat and, in a forum, the topic. */
export interface TelegramAddress {
  chatId: number | string;
  topicId?: number;
}

/** sendMessage's limit (core.telegram.org/bots/api#sendmessage): 1-4096 characters. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Cuts text to what sendMessage accepts: the last guard. A workflow's long message is
 * split into several outbox rows before this (chatParts); a notice or a prompt that is
 * still too long loses its visible tail rather than the whole message. Counted in
 * UTF-16 units, as Telegram does.
 */
export function fitText(text: string): string {
  if (text.length <= TELEGRAM_TEXT_LIMIT) return text;
  let cut = text.slice(0, TELEGRAM_TEXT_LIMIT - 1);
  // Never leave half a surrogate pair at the end.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function where(address: TelegramAddress) {
  return {
    chat_id: address.chatId,
    ...(address.topicId !== undefined ? { message_thread_id: address.topicId } : {}),
  };
}

/**
 * Reply to a message when it still exists, and send anyway when it was deleted: a
 * gateway reply is worth more than its anchor (Bot API 7.0 `reply_parameters`).
 */
function replyTo(messageId: string | undefined) {
  const id = messageId !== undefined && /^\d+$/.test(messageId) ? Number(messageId) : undefined;
  return id === undefined
    ? {}
    : { reply_parameters: { message_id: id, allow_sending_without_reply: true } };
}

/** Up to three buttons a row, one a row when labels are long (they would be cut off). */
function keyboardRows(buttons: InlineKeyboardButton[]): InlineKeyboardButton[][] {
  const perRow = buttons.some((b) => b.text.length > 16) ? 1 : 3;
  const rows: InlineKeyboardButton[][] = [];
  for (let i = 0; i < buttons.length; i += perRow) rows.push(buttons.slice(i, i + perRow));
  return rows;
}

/**
 * A workflow's message: its Markdown as Telegram HTML when the bot's format says so.
 * Long answers were split into parts that fit when their outbox rows were written; a
 * row that still does not fit (written before that) goes as plain text, cut, rather
 * than as HTML cut inside a tag.
 */
function renderMessage(
  payload: OutboundMessagePayload,
  address: TelegramAddress,
  format: ChatFormat,
): TelegramCall {
  const text = typeof payload.text === 'string' ? payload.text : '';
  const html = format === 'markdown' ? markdownToTelegramHtml(text) : null;
  const fits = html !== null && html !== '' && telegramVisibleLength(html) <= TELEGRAM_TEXT_LIMIT;
  return {
    method: 'sendMessage',
    args: {
      ...where(address),
      ...(fits ? { text: html, parse_mode: 'HTML' as const } : { text: fitText(text) }),
      ...replyTo(payload.thread),
    },
  };
}

function prefixOf(ask: OutboundAskPayload): string {
  const rung = askRung(ask);
  if (rung === 'remind') return '⏰ Reminder: ';
  if (rung === 'escalate') return '⚠️ Escalated: ';
  return '';
}

/**
 * A question: one inline button per choice, each carrying a signed token (38 bytes of
 * the 64 callback_data allows); no choices → ForceReply, so the answer arrives as a
 * reply to the prompt and names its work even among other messages.
 */
function renderAsk(
  ask: OutboundAskPayload,
  address: TelegramAddress,
  secret: string,
): TelegramCall {
  const choices = askChoices(ask.expects);
  const text = fitText(`${prefixOf(ask)}${ask.text}`);
  const markup = choices
    ? {
        inline_keyboard: keyboardRows(
          choices.map((choice, i) => ({
            text: choice.label,
            callback_data: signButtonToken(
              { kind: 'answer', waitId: ask.waitId, choice: i },
              secret,
            ),
          })),
        ),
      }
    : { force_reply: true as const, input_field_placeholder: 'Your answer' };
  return {
    method: 'sendMessage',
    args: { ...where(address), text, reply_markup: markup, ...replyTo(ask.thread) },
  };
}

/** How an answer reads in the "answered by" line. */
export function answerText(answer: unknown): string {
  if (answer === true) return 'approved';
  if (answer === false) return 'rejected';
  if (typeof answer === 'string') return answer;
  if (answer === null || answer === undefined) return '—';
  return JSON.stringify(answer);
}

/**
 * The prompt after its answer: same text plus who answered, and no keyboard —
 * editMessageText without reply_markup removes the inline keyboard, in one call.
 */
function renderAnswered(payload: OutboundAnsweredPayload, address: TelegramAddress): TelegramCall {
  const line = answeredLine(payload, answerText(payload.answer));
  const text = payload.text ? `${payload.text}\n\n${line}` : line;
  return {
    method: 'editMessageText',
    args: {
      chat_id: address.chatId,
      message_id: Number(payload.promptMessageId),
      text: fitText(text),
    },
  };
}

/**
 * The gateway's own reply, anchored to the message it answers. Telegram has no
 * ephemeral messages: `ephemeralTo` is ignored (a button press also gets the text in
 * its answerCallbackQuery, which only the presser sees).
 */
function renderNotice(payload: OutboundNoticePayload, address: TelegramAddress): TelegramCall {
  const buttons = payload.buttons ?? [];
  return {
    method: 'sendMessage',
    args: {
      ...where(address),
      text: fitText(payload.text),
      ...replyTo(payload.replyTo ?? payload.thread),
      ...(buttons.length
        ? {
            reply_markup: {
              // One a row: "which one?" labels are long.
              inline_keyboard: buttons.map((b) => [{ text: b.label, callback_data: b.token }]),
            },
          }
        : {}),
    },
  };
}

/**
 * The Bot API call for an outbound payload; `secret` signs ask buttons, `format` is the
 * bot's (`telegram.bots.<name>.format`) and applies to workflow messages.
 */
export function renderTelegramCall(
  payload: OutboundPayload,
  address: TelegramAddress,
  secret: string,
  format: ChatFormat = 'plain',
): TelegramCall {
  switch (payload.kind) {
    case 'message':
      return renderMessage(payload, address, format);
    case 'ask':
      return renderAsk(payload, address, secret);
    case 'answered':
      return renderAnswered(payload, address);
    case 'notice':
      return renderNotice(payload, address);
  }
}
