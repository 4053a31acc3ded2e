import { type types } from '@slack/bolt';
import { signButtonToken } from '@app/security';
import {
  type OutboundAnsweredPayload,
  type OutboundAskPayload,
  type OutboundMessagePayload,
  type OutboundNoticePayload,
  askChoices,
  answeredLine,
  askRung,
  type ChatFormat,
  markdownToSlackMrkdwn,
  splitMarkdown,
} from '@app/core';

/**
 * Outbound payloads → Slack Web API calls (Block Kit). Pure: the sender makes the call.
 * Limits from docs.slack.dev/reference/block-kit: section text 3000 characters, button
 * text 75, 25 elements per actions block, 50 blocks per message.
 */

export type SlackBlock = types.KnownBlock;

export type SlackCall =
  | {
      method: 'chat.postMessage';
      args: { channel: string; text: string; thread_ts?: string; blocks?: SlackBlock[] };
    }
  | {
      method: 'chat.postEphemeral';
      args: {
        channel: string;
        user: string;
        text: string;
        thread_ts?: string;
        blocks?: SlackBlock[];
      };
    }
  | {
      method: 'chat.update';
      args: { channel: string; ts: string; text: string; blocks: SlackBlock[] };
    };

const SECTION_MAX = 3000;
const BUTTON_TEXT_MAX = 75;
const BUTTONS_PER_BLOCK = 25;

/** Slack's three control characters, for text people typed (answers): no `<!channel>` injection. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function section(text: string, blockId?: string): types.SectionBlock {
  return {
    type: 'section',
    ...(blockId ? { block_id: blockId } : {}),
    text: { type: 'mrkdwn', text: cut(text || ' ', SECTION_MAX) },
  };
}

/**
 * A long text as several section blocks (3,000 characters each, cut at paragraph, line
 * or word boundaries) instead of one cut short: a question or a notice keeps its words.
 * The block id goes on the first. At most 40 sections, leaving room for the buttons
 * within Slack's 50 blocks; text past that (over 100,000 characters) is cut.
 */
function sections(text: string, blockId?: string): types.SectionBlock[] {
  const parts = splitMarkdown(text, SECTION_MAX).slice(0, 40);
  return parts.map((p, i) => section(p.text, i === 0 ? blockId : undefined));
}

function context(text: string): types.ContextBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: cut(text, SECTION_MAX) }] };
}

function button(
  label: string,
  actionId: string,
  value: string,
  style?: 'primary' | 'danger',
): types.Button {
  return {
    type: 'button',
    action_id: actionId,
    text: { type: 'plain_text', text: cut(label, BUTTON_TEXT_MAX), emoji: true },
    value,
    ...(style ? { style } : {}),
  };
}

/** Buttons in rows of at most 25 (one actions block each; block ids unique per message). */
function actionRows(prefix: string, buttons: types.Button[]): types.ActionsBlock[] {
  const rows: types.ActionsBlock[] = [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_BLOCK) {
    rows.push({
      type: 'actions',
      block_id: `${prefix}_${i / BUTTONS_PER_BLOCK}`,
      elements: buttons.slice(i, i + BUTTONS_PER_BLOCK),
    });
  }
  return rows;
}

/** `slack:<team>:<user>` (an actor id) or a bare `U…` → the user id, else null. */
export function slackUserId(id: string): string | null {
  const m = /^(?:slack:[^:]+:)?([UW][A-Z0-9]+)$/.exec(id);
  return m?.[1] ?? null;
}

function who(name: string): string {
  const user = slackUserId(name);
  return user ? `<@${user}>` : escapeSlackText(name);
}

function answerText(answer: unknown): string {
  // The labels askChoices gives a boolean wait's buttons.
  if (answer === true) return 'Approve';
  if (answer === false) return 'Reject';
  return escapeSlackText(typeof answer === 'string' ? answer : JSON.stringify(answer));
}

function isDmChannel(channel: string): boolean {
  return channel.startsWith('D');
}

/**
 * A workflow's message. With the workspace's `format: markdown` its text is the model's
 * Markdown converted to mrkdwn (which chat.postMessage's `text` is read as by default):
 * Slack reads `**x**` literally and `[a](b)` as text. Blocks a workflow built are its own.
 */
export function renderMessage(
  payload: OutboundMessagePayload,
  channel: string,
  format: ChatFormat = 'plain',
): SlackCall {
  const blocks = Array.isArray(payload.blocks) ? (payload.blocks as SlackBlock[]) : undefined;
  const source = payload.text ?? '';
  const text = format === 'markdown' && !blocks && source ? markdownToSlackMrkdwn(source) : source;
  return {
    method: 'chat.postMessage',
    args: {
      channel,
      text,
      ...(payload.thread ? { thread_ts: payload.thread } : {}),
      ...(blocks ? { blocks } : {}),
    },
  };
}

/**
 * A human wait: the question, one button per choice (value = a signed button token, so
 * a forged click answers nothing), or for free text a line saying where to answer.
 */
export function renderAsk(ask: OutboundAskPayload, channel: string, secret: string): SlackCall {
  const rung = askRung(ask);
  const lead = rung === 'remind' ? '*Reminder:* ' : rung === 'escalate' ? '*Escalated:* ' : '';
  const blocks: SlackBlock[] = [...sections(`${lead}${ask.text}`, `wg_ask_${ask.waitId}`)];
  const choices = askChoices(ask.expects);
  if (choices) {
    const isApproval = ask.expects?.type === 'boolean';
    const buttons = choices.map((choice, i) =>
      button(
        choice.label,
        `wg_answer_${i}`,
        signButtonToken({ kind: 'answer', waitId: ask.waitId, choice: i }, secret),
        isApproval ? (choice.value === true ? 'primary' : 'danger') : undefined,
      ),
    );
    blocks.push(...actionRows(`wg_choices_${ask.waitId}`, buttons));
  } else {
    blocks.push(
      context(
        isDmChannel(channel) && !ask.thread
          ? 'Reply to answer.'
          : 'Reply in this thread to answer.',
      ),
    );
  }
  const responders = (ask.responders ?? []).map(slackUserId).filter((u): u is string => !!u);
  if (responders.length) {
    blocks.push(context(`Only ${responders.map((u) => `<@${u}>`).join(', ')} can answer.`));
  }
  return {
    method: 'chat.postMessage',
    args: {
      channel,
      text: `${lead ? lead.replace(/\*/g, '') : ''}${ask.text}`,
      ...(ask.thread ? { thread_ts: ask.thread } : {}),
      blocks,
    },
  };
}

/** The prompt, edited: same text, buttons gone, who answered and what. */
export function renderAnswered(payload: OutboundAnsweredPayload, channel: string): SlackCall {
  const line = answeredLine(
    { ...payload, answeredBy: who(payload.answeredBy) },
    answerText(payload.answer),
  );
  return {
    method: 'chat.update',
    args: {
      channel,
      ts: payload.promptMessageId,
      text: `${payload.text}\n${line}`,
      blocks: [...sections(payload.text, `wg_ask_${payload.waitId}`), context(line)],
    },
  };
}

/** The gateway's own reply: ephemeral to one user where asked, else in the thread. */
export function renderNotice(payload: OutboundNoticePayload, channel: string): SlackCall {
  // `replyTo` (the message being answered) threads the notice in channels; in a DM the
  // conversation is the DM itself, so the notice goes there, not into a side thread.
  const thread = payload.thread ?? (isDmChannel(channel) ? undefined : payload.replyTo);
  const blocks: SlackBlock[] | undefined = payload.buttons?.length
    ? [
        ...sections(payload.text),
        ...actionRows(
          'wg_notice',
          payload.buttons.map((b, i) => button(b.label, `wg_notice_${i}`, b.token)),
        ),
      ]
    : undefined;
  const common = {
    channel,
    text: payload.text,
    ...(thread ? { thread_ts: thread } : {}),
    ...(blocks ? { blocks } : {}),
  };
  // Never fall back to a public message: an id Slack does not know fails the delivery instead.
  const user = payload.ephemeralTo
    ? (slackUserId(payload.ephemeralTo) ?? payload.ephemeralTo)
    : null;
  return user
    ? { method: 'chat.postEphemeral', args: { ...common, user } }
    : { method: 'chat.postMessage', args: common };
}
