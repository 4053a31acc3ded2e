/**
 * What the ledger asks a channel to deliver: the `payload` of an Outbox row, by kind.
 * Channel-neutral on purpose: the engine and the ingest service write these inside
 * their transactions; each channel's sender renders them (Telegram inline keyboards,
 * Slack Block Kit, an HTTP POST) at delivery time.
 *
 * Targets (Outbox.target) are channel addresses:
 * - telegram: `<bot>:<chatId>` or `<bot>:<chatId>:<topicId>` (forum topic);
 * - slack: `<workspace>:<channelId>`; a thread is the payload's `thread` (thread_ts);
 * - http: the name of an `outbound.http` target in config.
 */
export type OutboundPayload =
  OutboundMessagePayload | OutboundAskPayload | OutboundAnsweredPayload | OutboundNoticePayload;

/** A workflow's `ctx.send(to, message)`. */
export interface OutboundMessagePayload {
  kind: 'message';
  text?: string;
  /** Reply anchor: Telegram reply_to_message_id, Slack thread_ts. */
  thread?: string;
  [field: string]: unknown;
}

/**
 * A human wait to render (ctx.ask, or an escalation rung's reminder / hand-over).
 * Choices come from `expects`: `{ enum: [...] }` → one button per value (choice i =
 * enum[i]); `{ type: 'boolean' }` → Approve / Reject (choice 1 = true, 0 = false);
 * anything else → a free-text prompt ("reply to this message").
 */
export interface OutboundAskPayload {
  kind: 'ask';
  waitId: string;
  text: string;
  expects: Record<string, unknown> | null;
  responders: string[] | null;
  thread?: string;
  /** Set on escalation rungs: `remind` repeats the prompt, `escalate` hands it over. */
  rung?: 'remind' | 'escalate';
  /** The engine's marks for the same (rows written before `rung` was read by both channels). */
  reminder?: boolean;
  escalated?: boolean;
}

/** Which escalation rung an ask is, whichever way its row marks it. */
export function askRung(ask: OutboundAskPayload): 'remind' | 'escalate' | null {
  if (ask.rung === 'remind' || ask.reminder === true) return 'remind';
  if (ask.rung === 'escalate' || ask.escalated === true) return 'escalate';
  return null;
}

/**
 * After a wait was answered: edit the prompt message so its buttons are gone and it
 * says who answered (Telegram editMessageText / Slack chat.update).
 */
export interface OutboundAnsweredPayload {
  kind: 'answered';
  waitId: string;
  /** The prompt's provider message id (from its Outbox row). */
  promptMessageId: string;
  /** The original prompt text, kept above the "answered by" line. */
  text: string;
  answeredBy: string;
  answer: unknown;
  thread?: string;
  /**
   * Closed without an answer here: `escalated` (handed to someone else), `expired` (its
   * time ran out). The buttons go all the same; the line says this instead of who answered.
   */
  closed?: 'escalated' | 'expired';
}

/** The line an edited prompt ends with: who answered and what, or why it closed. */
export function answeredLine(payload: OutboundAnsweredPayload, answer: string): string {
  if (payload.closed === 'escalated')
    return '⚠️ Handed over: this question is answered elsewhere now.';
  if (payload.closed === 'expired') return '⌛ Expired: no answer in time.';
  return `✅ answered by ${payload.answeredBy}: ${answer}`;
}

/**
 * A reply by the gateway itself: command answers (/status), re-prompts after an
 * answer failed validation, polite refusals, "which work did you mean?".
 */
export interface OutboundNoticePayload {
  kind: 'notice';
  text: string;
  /** Provider message id to reply to (Telegram) — or the thread (Slack thread_ts). */
  replyTo?: string;
  thread?: string;
  /** Visible only to this user where the channel can (Slack chat.postEphemeral); a channel user id. */
  ephemeralTo?: string;
  /** Buttons whose callback data is a signed button token (libs/security). */
  buttons?: Array<{ label: string; token: string }>;
}

/** The buttons an ask renders: labels and the value each choice index stands for. */
export function askChoices(
  expects: Record<string, unknown> | null,
): Array<{ label: string; value: unknown }> | null {
  if (!expects) return null;
  const values: unknown = expects.enum;
  if (Array.isArray(values) && values.length > 0 && values.length <= 32) {
    return (values as unknown[]).map((value) => ({
      label: typeof value === 'string' ? value : JSON.stringify(value),
      value,
    }));
  }
  if (expects.type === 'boolean') {
    return [
      { label: 'Reject', value: false },
      { label: 'Approve', value: true },
    ];
  }
  return null;
}
