import { type InboundEventInput, type OutboundAskPayload, type OutboundSender } from '@app/core';

/** An inbound HTTP request as a channel sees it: the exact bytes, for signature checks. */
export interface InboundRequest {
  /** Route parameters: `{ source }` for /hooks/:source, `{ bot }` for /telegram/:bot. */
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

/**
 * One channel (webhooks, Telegram, Slack): how its requests are authenticated and
 * turned into ledger events, and how the ledger's outbound payloads reach it.
 * DESIGN.md "Channels". Ingesting is not the adapter's job: the channel's controller
 * hands normalized events to the IngestService, so every channel shares one path.
 */
export interface ChannelAdapter<Verified = unknown> {
  readonly channel: string;
  /**
   * Checks the request's authenticity over the exact bytes and parses it. Throws a
   * WorkgateError (401 signature, 404 unknown source/bot, 400 malformed) — before
   * anything is written.
   */
  verify(request: InboundRequest): Verified;
  /** Zero or more ledger events (updates the gateway ignores normalize to none). */
  normalize(verified: Verified, request: InboundRequest): InboundEventInput[];
  /** The channel's UI for a human wait at an address: buttons, or a free-text prompt. */
  renderAsk(ask: OutboundAskPayload, target: string): unknown;
  /** Delivery of Outbox rows of this channel. */
  readonly sender: OutboundSender;
}
