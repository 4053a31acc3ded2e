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
  command: 'new' | null;
  route: RoutePolicy;
}

export type IngestDecision =
  'resumed' | 'inbox' | 'collected' | 'interrupted' | 'rejected' | 'asked' | 'opened' | 'dropped';

export interface IngestResult {
  eventId: string;
  decision: IngestDecision;
  workId: string | null;
  waitId: string | null;
  reason: string;
  /** True when the event was seen before: nothing was written this time. */
  duplicate: boolean;
}
