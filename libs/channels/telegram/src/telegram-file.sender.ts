import { Input } from 'telegraf';
import { type ResolvedFile } from '@app/channels/core';
import { type TelegramCall } from './telegram-render';

/** sendPhoto takes JPEG, PNG and WebP photos up to 10 MB (core.telegram.org/bots/api#sendphoto). */
const PHOTO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;

/** Media captions: 0-1024 characters after entities parsing. */
export const TELEGRAM_CAPTION_LIMIT = 1024;

export type TelegramFileMethod = 'sendPhoto' | 'sendDocument';

/** A photo goes as a photo (shown inline, recompressed); anything else as a document (kept as is). */
export function telegramFileMethod(file: ResolvedFile): TelegramFileMethod {
  return PHOTO_TYPES.has(file.mime) && file.data.byteLength <= PHOTO_MAX_BYTES
    ? 'sendPhoto'
    : 'sendDocument';
}

/**
 * The file call's arguments, with the message's rendered text as its caption when it
 * fits (same chat, topic, reply anchor and parse mode as the text would have had).
 * Telegraf sends an InputFile as multipart/form-data. `captionFits` false: the caller
 * sends the text as its own message after the file.
 */
export function telegramFileArgs(
  file: ResolvedFile,
  rendered: TelegramCall,
  visibleTextLength: number,
): { method: TelegramFileMethod; args: Record<string, unknown>; captionFits: boolean } {
  const method = telegramFileMethod(file);
  const {
    text,
    parse_mode: parseMode,
    link_preview_options: _preview,
    reply_markup: _markup,
    ...where
  } = rendered.args as Record<string, unknown>;
  const captionFits = visibleTextLength <= TELEGRAM_CAPTION_LIMIT;
  const input = Input.fromBuffer(file.data, file.name);
  return {
    method,
    args: {
      ...where,
      [method === 'sendPhoto' ? 'photo' : 'document']: input,
      ...(captionFits && typeof text === 'string' && text
        ? { caption: text, ...(parseMode ? { parse_mode: parseMode } : {}) }
        : {}),
    },
    captionFits,
  };
}
