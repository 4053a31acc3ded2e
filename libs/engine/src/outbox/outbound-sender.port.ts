/**
 * A channel's outbound side: delivers one outbox row. Implemented by each channel
 * (http webhooks here; Telegram and Slack in their own libs).
 */
export interface OutboundDelivery {
  outboxId: string;
  workId: string | null;
  target: string;
  payload: Record<string, unknown>;
  /** Stable for the row: pass it to the provider so a repeated delivery is recognised. */
  idempotencyKey: string;
  attempt: number;
}

export interface OutboundSender {
  readonly channel: string;
  send(delivery: OutboundDelivery): Promise<{ providerMessageId?: string | null }>;
}

/**
 * A delivery failure. `retryable` false means the provider refused for good (400, 403,
 * channel_not_found): the row is marked failed. `retryAfterMs` honours the provider's
 * Retry-After / retry_after.
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

export const OUTBOUND_SENDERS = Symbol('OUTBOUND_SENDERS');
