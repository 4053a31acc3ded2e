import { type OutboundPayload } from '../channels/outbound';

/** One delivery attempt of an Outbox row, as the outbox service hands it to a channel. */
export interface OutboundDelivery {
  outboxId: string;
  workId: string | null;
  /** The channel address (see OutboundPayload for each channel's format). */
  target: string;
  payload: OutboundPayload;
  /** Stable for the row: pass it to the provider so a repeated delivery is recognised. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
}

/**
 * A provider's rate limit a delivery must respect, e.g. Telegram's ~1 message/s per
 * chat (`{ key: 'telegram:main:chat:42', max: 1, perMs: 1000 }`) and 30/s per bot.
 * The outbox service counts deliveries per key in Redis and postpones one that would
 * exceed a limit (it is not an error and costs no attempt).
 */
export interface RateLimit {
  key: string;
  max: number;
  perMs: number;
}

/**
 * A channel's outbound side: delivers one outbox row. Implemented by each channel
 * (http webhooks, Telegram, Slack) and registered with the worker.
 */
export interface OutboundSender {
  readonly channel: string;
  send(delivery: OutboundDelivery): Promise<{ providerMessageId?: string | null }>;
  /** The rate limits this delivery falls under; none when omitted. */
  limits?(delivery: OutboundDelivery): RateLimit[];
}

/**
 * A delivery failure. `retryable` false means the provider refused for good (400, 403,
 * channel_not_found): the row is marked failed. `retryAfterMs` honours the provider's
 * Retry-After / retry_after (a 429 is retryable and does not count against the
 * row's attempts budget more than once per wait).
 */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}
