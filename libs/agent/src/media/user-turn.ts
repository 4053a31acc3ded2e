import { type AgentConfig } from '@app/config';
import { type AttachmentRef, attachmentsOf } from '@app/core';
import { type InboxEvent, type LlmImage, type LlmMessage, type WorkflowContext } from '@app/engine';
import { type AgentMedia } from './agent-media';
import { prepareAttachment, type PreparedAttachment } from './prepare-attachment';
import { transcribe } from './transcribe';

/**
 * A person's message as the model gets it, and what to tell the person first. `message`
 * is null when nothing in it is usable (a captionless PDF): the notice is then the whole
 * answer, never silence.
 */
export interface UserTurn {
  message: LlmMessage | null;
  notice: string | null;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return `${trimmed[0]?.toUpperCase() ?? ''}${trimmed.slice(1)}${/[.!?]$/.test(trimmed) ? '' : '.'}`;
}

function textBlock(p: PreparedAttachment): string {
  const cut = p.truncated ? `; only its first ${p.text!.length} characters are shown` : '';
  return `Attached file ${p.name} (${p.mime}${cut}):\n<<<\n${p.text}\n>>>`;
}

/**
 * Text, then each attachment in its form for the model: text files inline, voice and
 * audio as their transcript (a step of its own), images as image inputs read from the
 * store (bytes are not recorded in steps; the store keeps them and checks their hash).
 * Files the model cannot use are named to it too, so its answer does not pretend.
 */
export async function userTurn(
  ctx: WorkflowContext,
  media: AgentMedia | undefined,
  settings: AgentConfig,
  input: { text: string; attachments: AttachmentRef[]; sender?: string },
): Promise<UserTurn> {
  const { attachments } = input;
  // Several people share a group or a channel thread: each turn says who wrote it.
  const text = input.sender && input.text ? `${input.sender}: ${input.text}` : input.text;
  if (!attachments.length)
    return { message: text ? { role: 'user', content: text } : null, notice: null };
  if (!media) {
    const notice = 'I received a file, but this assistant is not set up to open files.';
    return { message: text ? { role: 'user', content: text } : null, notice };
  }
  const parts: string[] = text ? [text] : [];
  const images: LlmImage[] = [];
  const problems: string[] = [];
  // One after another: each is a step, and the order of steps must be the same on replay.
  for (const ref of attachments) {
    const prepared = await prepareAttachment(ctx, media, ref);
    if (prepared.problem) problems.push(prepared.problem);
    else if (prepared.use === 'text') parts.push(textBlock(prepared));
    else if (prepared.use === 'audio') {
      const heard = await transcribe(ctx, media, settings, prepared);
      if ('problem' in heard) problems.push(heard.problem);
      else parts.push(`Voice message ${prepared.name}, transcribed:\n${heard.text}`);
    } else if (prepared.use === 'image') {
      const got = await media.store.get(prepared.id);
      if (got) images.push({ mime: prepared.mime, data: Buffer.from(got.data).toString('base64') });
      else problems.push(`${prepared.name} is missing from the attachment store`);
    }
  }
  const usable = parts.length > 0 || images.length > 0;
  const notice = problems.length ? problems.map(sentence).join('\n') : null;
  if (problems.length && usable)
    parts.push(
      `(The person also sent files you cannot see; they have been told: ${problems.join('; ')}.)`,
    );
  if (!usable) return { message: null, notice };
  return {
    message: {
      role: 'user',
      content: parts.length ? parts.join('\n\n') : null,
      ...(images.length ? { images } : {}),
    },
    notice,
  };
}

/** A person's message: its text, files, and who wrote it where several people talk. */
export interface PersonMessage {
  text: string;
  attachments: AttachmentRef[];
  sender?: string;
}

/**
 * Who wrote a chat event, when the chat is shared: a Telegram group's member by display
 * name, a Slack channel's by mention (`<@U…>`, which Slack shows as their name, and which
 * the model can write back to address them). Private chats and DMs have one person.
 */
export function senderOfBody(body: unknown): string | undefined {
  const b = (body ?? {}) as { chatType?: unknown; from?: { name?: unknown }; user?: unknown };
  if ((b.chatType === 'group' || b.chatType === 'supergroup') && typeof b.from?.name === 'string')
    return b.from.name;
  if ((b.chatType === 'channel' || b.chatType === 'group') && typeof b.user === 'string')
    return `<@${b.user}>`;
  return undefined;
}

/** A chat event's text and files (an inbox event body, or a follow-up's answer). */
export function messageOfBody(body: unknown): PersonMessage {
  if (typeof body === 'string') return { text: body, attachments: [] };
  const text = (body as { text?: unknown } | null)?.text;
  const sender = senderOfBody(body);
  return {
    text: typeof text === 'string' ? text : '',
    attachments: attachmentsOf(body),
    ...(sender ? { sender } : {}),
  };
}

/**
 * Inbox events as the person's turns: each event's text and files, notices sent with
 * `notify` (before the model answers) for files that cannot be used.
 */
export async function inboxTurns(
  ctx: WorkflowContext,
  media: AgentMedia | undefined,
  settings: AgentConfig,
  events: InboxEvent[],
  notify: (text: string) => Promise<void>,
): Promise<LlmMessage[]> {
  const turns: LlmMessage[] = [];
  for (const event of events) {
    const turn = await userTurn(ctx, media, settings, messageOfBody(event.body));
    if (turn.notice) await notify(turn.notice);
    if (turn.message) turns.push(turn.message);
  }
  return turns;
}

/** The person's turns of one assistant run: inbox events, and one message (first or follow-up). */
export interface ChatTurns {
  inbox(events: InboxEvent[]): Promise<LlmMessage[]>;
  /**
   * One message; null when it leaves nothing for the model (its notice, if any, is then
   * the answer). A message without files is the person's turn even when its text is empty.
   */
  of(message: PersonMessage): Promise<UserTurn>;
}

/**
 * `speaker`: who a message without a sender of its own is from — the person who opened
 * the conversation. A follow-up is an answer without its event's body; in a group it
 * comes from the conversation's own person (one conversation per person there).
 */
export function chatTurns(
  ctx: WorkflowContext,
  media: AgentMedia | undefined,
  settings: AgentConfig,
  notify: (text: string) => Promise<void>,
  speaker?: string,
): ChatTurns {
  return {
    inbox: (events) => inboxTurns(ctx, media, settings, events, notify),
    async of(said) {
      const message = said.sender || !speaker ? said : { ...said, sender: speaker };
      const turn = await userTurn(ctx, media, settings, message);
      if (turn.message || turn.notice) return turn;
      const content = message.sender ? `${message.sender}: ${message.text}` : message.text;
      return { message: { role: 'user', content }, notice: null };
    },
  };
}

/** What the follow-up wait accepts: a chat message's text, or its text with files. */
export const FOLLOW_UP_EXPECTS = {
  anyOf: [{ type: 'string' }, { type: 'object', required: ['text', 'attachments'] }],
};
