import { markdownToSlackMrkdwn } from './slack-mrkdwn.util';
import { type TextPart, splitMarkdown } from './split-markdown.util';
import { markdownToTelegramHtml, telegramVisibleLength } from './telegram-html.util';

/** How a bot or workspace sends the model's text: rendered Markdown, or as typed. */
export type ChatFormat = 'markdown' | 'plain';

/**
 * Per channel: the most one message may hold, and how that channel counts it.
 * Telegram: sendMessage takes 1-4096 characters after entities parsing
 * (core.telegram.org/bots/api#sendmessage). Slack: chat.postMessage truncates `text`
 * past 40,000 characters and a section block takes 3,000; 3,500 keeps a message
 * readable in one screen and well under either. Both count the larger of the source
 * and the rendered form, so the split holds whichever format the bot is set to.
 */
const CHANNEL_LIMITS = new Map<string, { limit: number; measure: (text: string) => number }>([
  [
    'telegram',
    {
      limit: 4096,
      measure: (text) => Math.max(text.length, telegramVisibleLength(markdownToTelegramHtml(text))),
    },
  ],
  [
    'slack',
    { limit: 3500, measure: (text) => Math.max(text.length, markdownToSlackMrkdwn(text).length) },
  ],
]);

/** The limit a channel puts on one message's text, or null when it has none here. */
export function chatTextLimit(channel: string): number | null {
  return CHANNEL_LIMITS.get(channel)?.limit ?? null;
}

/**
 * A message's text as the messages a channel can take, in order (one part when it
 * fits, or when the channel has no limit here). Each part is sent as its own outbox row.
 */
export function chatParts(channel: string, text: string): TextPart[] {
  const rule = CHANNEL_LIMITS.get(channel);
  if (!rule) return [{ source: text, text }];
  return splitMarkdown(text, rule.limit, rule.measure);
}
