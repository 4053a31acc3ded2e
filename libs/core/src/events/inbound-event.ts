import { type RoutePolicy } from '../routing/route';

/** Who sent an event, as the channel identifies them. */
export interface Actor {
  /** Channel-scoped id, e.g. `telegram:123456789`, `slack:T0FAKE01:U0FAKE01`, `webhook:github`. */
  id: string;
  name?: string;
}

/**
 * What every channel hands the ledger: verified, normalized, deduplicable. Channels
 * produce it (libs/channels/*), the ingest service routes and records it.
 */
export interface InboundEventInput {
  channel: string;
  /** The configured source: webhook source name, bot, workspace, schedule. */
  source: string;
  /** Provider id scoped by source (see scopedExternalId): the dedupe key with channel. */
  externalId: string;
  conversationKey: string | null;
  correlationKey: string | null;
  actor: Actor | null;
  /** The payload as received (parsed), kept for audit and replays. */
  raw: unknown;
  /** The normalized body the workflow sees. */
  body: unknown;
  /** The value a wait receives when this event answers it. */
  answer: unknown;
  reference: { workId: string; waitId?: string } | null;
  command: ChatCommand | null;
  route: RoutePolicy;
  /**
   * A reply to one of our messages (Telegram reply_to_message, Slack thread parent):
   * the ingest service looks the message up in the Outbox (channel, target,
   * providerMessageId) and resumes the work that sent it.
   */
  replyTo?: { target: string; providerMessageId: string } | null;
  /** A button press whose signed token the channel has already verified. */
  button?: ButtonPress | null;
  /** The title of the work it opens (an API start's `title`), if it opens one. */
  title?: string | null;
  /** Where the gateway's own replies go: command answers, refusals, re-prompts. */
  replyAddress?: { channel: string; target: string; thread?: string } | null;
}

/**
 * `/new` forces a new work; `/cancel` and `/status` are answered by the gateway, and so
 * are `/memory` (shows the person's memory), `/forget` (erases it) and `/help` (what the
 * bot does and these commands; Telegram's `/start` is `/help`, `/reset` is `/new`).
 */
export type ChatCommand = 'new' | 'cancel' | 'status' | 'forget' | 'memory' | 'help';

/** The commands the gateway answers itself, never a workflow. */
export const GATEWAY_COMMANDS: readonly ChatCommand[] = [
  'status',
  'cancel',
  'forget',
  'memory',
  'help',
];

/**
 * What a verified button carries (libs/security signs and verifies it): the wait
 * it answers and the index of the choice (see askChoices), or the work a
 * "which one did you mean?" question offered.
 */
export type ButtonPress =
  | { kind: 'answer'; waitId: string; choice: number }
  | { kind: 'pick'; workId: string; choice: number };

export type IngestDecision =
  | 'resumed'
  | 'inbox'
  | 'collected'
  | 'interrupted'
  | 'rejected'
  | 'asked'
  | 'opened'
  | 'dropped'
  | 'command';

export interface IngestResult {
  eventId: string;
  decision: IngestDecision;
  workId: string | null;
  waitId: string | null;
  reason: string;
  /** True when the event was seen before: nothing was written this time. */
  duplicate: boolean;
  /**
   * A short line for the person who pressed a button (Telegram answerCallbackQuery,
   * Slack ephemeral): "Answered", "Only @ana can answer this", "Already answered".
   */
  feedback?: string;
}
