import {
  answerOf,
  type ButtonPress,
  type ChatCommand,
  type InboundEventInput,
  type RoutePolicy,
  conversationKeyOf,
  scopedExternalId,
} from '@app/core';
import {
  type SlackAction,
  type SlackBlockActions,
  type SlackEventEnvelope,
  type SlackInnerEvent,
} from './slack-payloads';
import { slackAttachments } from './slack-files';

/** The workspace an event belongs to, as normalization needs it. */
export interface SlackWorkspaceRef {
  /** The config name (`slack.workspaces.<name>`); the team id for a team nobody configured. */
  name: string;
  teamId: string;
  /** The bot's own user id, when configured; otherwise taken from the event's authorizations. */
  botUserId?: string;
  /** openKind null: the workspace opens no work (or is not configured), events only resume. */
  route: RoutePolicy;
}

export const SLACK_CHANNEL = 'slack';

const COMMANDS: readonly ChatCommand[] = ['new', 'cancel', 'status'];
/**
 * Commands only when the word is the whole message: a DM that begins "forget it, I
 * meant…" is a message, not an erase of the person's memory, and "help me with…" is a
 * request for the assistant, not for the command list.
 */
const ALONE_COMMANDS: readonly ChatCommand[] = ['forget', 'memory', 'help'];

/**
 * Human message subtypes: everything else (edits, deletions, joins, bot_message, …) is
 * a notification about a message, not a message someone sent us.
 */
const HUMAN_SUBTYPES = new Set([undefined, 'file_share', 'thread_broadcast']);

/** Slack escapes exactly these three in message text (docs.slack.dev "Formatting text"). */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function mentionPattern(botUserId: string | undefined, flags: string): RegExp {
  // Without the bot's id, an app_mention's own trigger is its first user mention.
  return botUserId
    ? new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, flags)
    : new RegExp('^\\s*<@[UW][A-Z0-9]+(?:\\|[^>]*)?>', flags);
}

function tidy(text: string): string {
  return text.replace(/[ \t]+/g, ' ').trim();
}

/**
 * Splits a message into the command (`new`, `cancel`, `status` as the first word after
 * the bot's mention, or as the first word of a DM) and the text without the mention and
 * the command word. Slack itself intercepts messages that start with `/`, so chat
 * commands are plain words here; `/new` typed with a leading slash never reaches us.
 */
export function parseMentionText(
  text: string,
  botUserId: string | undefined,
  opts: { commandsWithoutMention: boolean },
): { text: string; command: ChatCommand | null } {
  const match = mentionPattern(botUserId, '').exec(text);
  let before = '';
  let after = text;
  if (match) {
    before = text.slice(0, match.index);
    after = text.slice(match.index + match[0].length);
  }
  let command: ChatCommand | null = null;
  if (match || opts.commandsWithoutMention) {
    const word = /^\s*\/?([A-Za-z]+)(?=\s|$)/.exec(after);
    const candidate = word?.[1]?.toLowerCase() as ChatCommand | undefined;
    const alone = !!word && !after.slice(word[0].length).trim();
    if (
      word &&
      candidate &&
      (COMMANDS.includes(candidate) || (alone && ALONE_COMMANDS.includes(candidate)))
    ) {
      command = candidate;
      after = after.slice(word[0].length);
    }
  }
  const rest = `${before} ${after}`.replace(mentionPattern(botUserId, 'g'), ' ');
  return { text: decodeSlackEntities(tidy(rest)), command };
}

/**
 * DMs are one conversation each (replies go to the DM itself); in channels every
 * top-level mention starts a thread — the message's own ts — so a work's replies and
 * the people answering it stay in that thread, and two works in one channel never
 * share a conversation.
 */
export function conversationThread(
  channel: string,
  ts: string,
  threadTs: string | undefined,
  channelType?: string,
): string | undefined {
  if (threadTs) return threadTs;
  return isDirectMessage(channel, channelType) ? undefined : ts;
}

export function isDirectMessage(channel: string, channelType?: string): boolean {
  return channelType === 'im' || (channelType === undefined && channel.startsWith('D'));
}

export function slackTarget(workspace: string, channel: string): string {
  return `${workspace}:${channel}`;
}

function botUserOf(ws: SlackWorkspaceRef, envelope: SlackEventEnvelope): string | undefined {
  return ws.botUserId ?? envelope.authorizations?.find((a) => a.is_bot)?.user_id ?? undefined;
}

type Accepted =
  | { kind: 'mention'; route: RoutePolicy; commandsWithoutMention: false }
  | { kind: 'dm'; route: RoutePolicy; commandsWithoutMention: true }
  | { kind: 'thread_reply'; route: RoutePolicy; commandsWithoutMention: false };

/**
 * Which events become ledger events. An @mention in a channel arrives twice when the app
 * also subscribes to channel messages (an `app_mention` and a `message`, with different
 * event ids), so channel `message`s are only taken when they are thread replies that do
 * not mention the bot; the `app_mention` covers the rest. Thread replies never open a
 * work (people talk in threads all the time): they only resume one.
 */
function accept(
  event: SlackInnerEvent,
  ws: SlackWorkspaceRef,
  botUserId: string | undefined,
): Accepted | null {
  if (!event.user || !event.channel || !event.ts) return null;
  if (event.bot_id || (botUserId && event.user === botUserId)) return null;
  if (event.type === 'app_mention') {
    return { kind: 'mention', route: ws.route, commandsWithoutMention: false };
  }
  if (event.type !== 'message' || !HUMAN_SUBTYPES.has(event.subtype)) return null;
  if (isDirectMessage(event.channel, event.channel_type)) {
    return { kind: 'dm', route: ws.route, commandsWithoutMention: true };
  }
  const isThreadReply = !!event.thread_ts && event.thread_ts !== event.ts;
  // Without the bot's id (no authorizations, none configured) a mention cannot be told
  // apart from a mention of someone else, and dropping a reply is worse than a duplicate.
  const mentionsBot = !!botUserId && (event.text ?? '').includes(`<@${botUserId}`);
  if (!isThreadReply || mentionsBot) return null;
  return {
    kind: 'thread_reply',
    route: { ...ws.route, openKind: null },
    commandsWithoutMention: false,
  };
}

/** An Events API envelope → zero or one ledger events (bots, edits, joins normalize to none). */
export function normalizeSlackEvent(
  envelope: SlackEventEnvelope,
  ws: SlackWorkspaceRef,
): InboundEventInput[] {
  const event = envelope.event;
  const botUserId = botUserOf(ws, envelope);
  const accepted = accept(event, ws, botUserId);
  if (!accepted) return [];
  const channel = event.channel!;
  const ts = event.ts!;
  const user = event.user!;
  const team = event.user_team ?? event.team ?? envelope.team_id;
  const { text, command } = parseMentionText(event.text ?? '', botUserId, accepted);
  const thread = conversationThread(channel, ts, event.thread_ts, event.channel_type);
  const target = slackTarget(ws.name, channel);
  const isReply = !!event.thread_ts && event.thread_ts !== ts;
  const externalId = scopedExternalId(ws.name, envelope.event_id);
  const attachments = slackAttachments((event as { files?: unknown }).files, ws.name, externalId);
  return [
    {
      channel: SLACK_CHANNEL,
      source: ws.name,
      externalId,
      conversationKey: conversationKeyOf({ channel: SLACK_CHANNEL, target, thread }),
      correlationKey: null,
      actor: { id: `slack:${team}:${user}` },
      raw: envelope,
      body: {
        text,
        ...(attachments.length ? { attachments } : {}),
        messageId: ts,
        chatType: event.channel_type ?? (isDirectMessage(channel) ? 'im' : 'channel'),
        eventType: event.type,
        eventId: envelope.event_id,
        team: envelope.team_id,
        channel,
        user,
        threadTs: event.thread_ts ?? null,
        command,
      },
      answer: answerOf(text, attachments),
      reference: null,
      command,
      route: accepted.route,
      // The thread's parent: when it is a message a work sent, the reply resumes that work.
      replyTo: isReply ? { target, providerMessageId: event.thread_ts! } : null,
      button: null,
      replyAddress: { channel: SLACK_CHANNEL, target, ...(thread ? { thread } : {}) },
    },
  ];
}

/** A block_actions button press whose value carried a verified button token. */
export interface VerifiedAction {
  action: SlackAction;
  press: ButtonPress;
}

/**
 * A verified button press → one ledger event per pressed button. Dedupe key: Slack sends
 * no event id for interactions; (channel, message ts, action id, action ts) names one
 * click (fixtures README). A press never opens a work: a stale button answers nothing.
 */
export function normalizeSlackBlockActions(
  payload: SlackBlockActions,
  ws: SlackWorkspaceRef,
  actions: VerifiedAction[],
): InboundEventInput[] {
  const channel = payload.channel?.id ?? payload.container.channel_id;
  const messageTs = payload.container.message_ts ?? payload.message?.ts;
  if (!channel || !messageTs) return [];
  const threadTs = payload.container.thread_ts ?? payload.message?.thread_ts;
  const thread = conversationThread(channel, messageTs, threadTs);
  const target = slackTarget(ws.name, channel);
  const team = payload.user.team_id ?? payload.team?.id ?? ws.teamId;
  return actions.map(({ action, press }) => ({
    channel: SLACK_CHANNEL,
    source: ws.name,
    externalId: scopedExternalId(
      ws.name,
      `action:${channel}:${messageTs}:${action.action_id}:${action.action_ts}`,
    ),
    conversationKey: conversationKeyOf({ channel: SLACK_CHANNEL, target, thread }),
    correlationKey: null,
    // No display name: Slack renders `<@U…>` as the person's current name everywhere.
    actor: { id: `slack:${team}:${payload.user.id}` },
    raw: payload,
    body: {
      text: action.text?.text ?? null,
      messageId: messageTs,
      chatType: isDirectMessage(channel) ? 'im' : 'channel',
      eventType: 'block_actions',
      team: payload.team?.id ?? ws.teamId,
      channel,
      user: payload.user.id,
      threadTs: threadTs ?? null,
      actionId: action.action_id,
      choice: press.choice,
    },
    // The ingest service maps the verified choice to the wait's value.
    answer: null,
    reference: null,
    command: null,
    route: { ...ws.route, openKind: null },
    replyTo: null,
    button: press,
    replyAddress: { channel: SLACK_CHANNEL, target, ...(thread ? { thread } : {}) },
  }));
}
