import { type TelegramMessage } from './telegram-payloads';

/**
 * Group chats (docs/telegram.md, "Groups"). A group is many people talking, mostly to
 * each other: the bot takes a message only when it is addressed (an @mention, a reply to
 * one of its messages, a command), unless the bot's `requireMention` is off; and each
 * person has a conversation of their own there (per forum topic), so two people's
 * requests do not land in one work's inbox or answer each other's questions.
 */

export function isGroupChat(type: string): boolean {
  return type === 'group' || type === 'supergroup';
}

/** The conversation's person in a group (the key's `party`): `u<user id>`. */
export function groupParty(chatType: string, userId: number): string | undefined {
  return isGroupChat(chatType) ? `u${userId}` : undefined;
}

interface Entity {
  type: string;
  offset: number;
  length: number;
  user?: { id: number };
}

function entitiesOf(message: TelegramMessage): Entity[] {
  const list = message.entities ?? message.caption_entities ?? [];
  return list.filter(
    (e): e is Entity =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as Entity).type === 'string' &&
      Number.isInteger((e as Entity).offset) &&
      Number.isInteger((e as Entity).length),
  );
}

/**
 * The parts of the text that mention this bot: `@username` (a `mention` entity whose
 * text is the configured username, any case) or a `text_mention` of the bot's user id.
 * Offsets are UTF-16 units, as JavaScript strings count them.
 */
function botMentions(
  message: TelegramMessage,
  text: string,
  bot: { botId: number; username?: string },
): Entity[] {
  const handle = bot.username ? `@${bot.username.toLowerCase()}` : null;
  return entitiesOf(message).filter((e) =>
    e.type === 'text_mention'
      ? e.user?.id === bot.botId
      : e.type === 'mention' &&
        handle !== null &&
        text.slice(e.offset, e.offset + e.length).toLowerCase() === handle,
  );
}

/**
 * Is a group message for the bot, and its text without the mention ("@bot deploy it" →
 * "deploy it", as Slack's mention is stripped)? `raw` is the text as sent (entity
 * offsets point into it), `text` what is left after a command; `replied`: it replies to
 * the bot; `command`: it is one of the bot's commands.
 */
export function addressedInGroup(
  message: TelegramMessage,
  raw: string,
  text: string,
  bot: { botId: number; username?: string },
  flags: { replied: boolean; command: boolean },
): { addressed: boolean; text: string } {
  const mentions = botMentions(message, raw, bot);
  if (!mentions.length) return { addressed: flags.replied || flags.command, text };
  let stripped = text;
  for (const m of mentions)
    stripped = stripped.replace(raw.slice(m.offset, m.offset + m.length), '');
  // "@bot, deploy it" → "deploy it", "hi @bot, go" → "hi, go"; line breaks stay the person's.
  return {
    addressed: true,
    text: stripped
      .replace(/[ \t]{2,}/g, ' ')
      .replace(/[ \t]+([,.:;!?])/g, '$1')
      .replace(/^[\s,:]+/, '')
      .trim(),
  };
}
