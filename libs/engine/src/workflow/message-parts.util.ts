import { chatParts } from '@app/core';

/**
 * A ctx.send message as the messages its channel can take: a text longer than one
 * message (Telegram 4096, Slack 3500) becomes several, cut at paragraph, line or word
 * boundaries with code fences closed and reopened, each marked `part` of `parts`.
 * Nothing is cut off. Messages with blocks of their own are the workflow's to size.
 */
export function messageParts(
  channel: string,
  payload: Record<string, unknown>,
): Array<Record<string, unknown>> {
  const text = payload.text;
  if (typeof text !== 'string' || Array.isArray(payload.blocks)) return [payload];
  const parts = chatParts(channel, text);
  if (parts.length === 1) return [payload];
  // A file goes with the first part only: one upload, however many parts its text takes.
  const { file, ...rest } = payload;
  return parts.map((p, i) => ({
    ...(i === 0 && file !== undefined ? payload : rest),
    text: p.text,
    part: i + 1,
    parts: parts.length,
  }));
}
