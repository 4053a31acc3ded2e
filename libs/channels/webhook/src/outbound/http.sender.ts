import { randomUUID } from 'node:crypto';
import { type AppConfig } from '@app/config';
import {
  type OutboundDelivery,
  OutboundError,
  type OutboundSender,
  type RateLimit,
} from '@app/core';
import { hmacSha256 } from '../schemes/signature.util';
import { standardWebhooksKey } from '../schemes/standard-webhooks.scheme';

type HttpTarget = AppConfig['outbound']['http'][string];

const DEFAULT_TIMEOUT_MS = 10_000;
/** Retry-After may be seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * `ctx.send({ channel: 'http', target }, body)`: a JSON POST. The target is the name
 * of an `outbound.http` entry (URL, signing secret, headers, timeout, rate) or, from
 * workflow code only, an absolute http(s) URL sent unsigned.
 *
 * Every request carries `Idempotency-Key` (the outbox row's key, the same on every
 * attempt); a signed one also carries the Standard Webhooks headers with `webhook-id`
 * = that key, so a receiver that verifies with any Standard Webhooks library also
 * dedupes our retries. 2xx is delivered; 408, 425, 429 and 5xx and network errors are
 * retried (Retry-After honoured); any other status is refused for good.
 */
export class HttpSender implements OutboundSender {
  readonly channel = 'http';

  /** By name; a Map, so a target named `constructor` is not Object's own. */
  private readonly targets: ReadonlyMap<string, HttpTarget>;

  constructor(
    targets: Record<string, HttpTarget>,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.targets = new Map(Object.entries(targets));
  }

  static fromConfig(config: Pick<AppConfig, 'outbound'>): HttpSender {
    return new HttpSender(config.outbound.http);
  }

  limits(delivery: OutboundDelivery): RateLimit[] {
    const rate = this.targets.get(delivery.target)?.ratePerSecond;
    if (!rate) return [];
    // Whole-number windows: 0.5/s is one per 2 s, 20/s is twenty per second.
    return rate >= 1
      ? [{ key: `http:${delivery.target}`, max: Math.floor(rate), perMs: 1000 }]
      : [{ key: `http:${delivery.target}`, max: 1, perMs: Math.round(1000 / rate) }];
  }

  async send(delivery: OutboundDelivery): Promise<{ providerMessageId: string | null }> {
    const target = this.resolve(delivery.target);
    const body = JSON.stringify(delivery.payload);
    const headers: Record<string, string> = {
      ...target.headers,
      'content-type': 'application/json',
      'idempotency-key': delivery.idempotencyKey,
      'user-agent': 'workgate',
    };
    if (target.secret) Object.assign(headers, signStandardWebhook(target.secret, delivery, body));

    let response: Response;
    try {
      response = await this.fetchImpl(target.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(target.timeout ?? DEFAULT_TIMEOUT_MS),
        redirect: 'manual',
      });
    } catch (err) {
      const reason = err instanceof Error ? (err.cause ?? err) : err;
      throw new OutboundError(`POST ${target.url} failed: ${describe(reason)}`, true);
    }
    // The body is not needed, but leaving it unread keeps the socket busy.
    const text = await response.text().catch(() => '');
    if (response.ok) {
      return { providerMessageId: response.headers.get('x-message-id') ?? null };
    }
    const status = response.status;
    const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
    throw new OutboundError(
      `POST ${target.url} answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      retryable,
      retryable ? retryAfterMs(response.headers.get('retry-after'), Date.now()) : undefined,
    );
  }

  private resolve(target: string): {
    url: string;
    secret?: string;
    headers: Record<string, string>;
    timeout?: number;
  } {
    const named = this.targets.get(target);
    if (named) return named;
    if (/^https?:\/\//i.test(target)) return { url: target, headers: {} };
    throw new OutboundError(
      `no outbound.http target named "${target}" (configured: ${[...this.targets.keys()].join(', ') || 'none'}), and it is not an http(s) URL`,
      false,
    );
  }
}

/** Standard Webhooks v1 signature headers for one request. */
export function signStandardWebhook(
  secret: string,
  delivery: Pick<OutboundDelivery, 'idempotencyKey'>,
  body: string,
  now = Date.now(),
): Record<string, string> {
  const key = standardWebhooksKey(secret);
  if (!key) throw new OutboundError('the outbound signing secret is not valid base64', false);
  const id = delivery.idempotencyKey || randomUUID();
  const timestamp = String(Math.floor(now / 1000));
  const signature = hmacSha256(key, Buffer.from(`${id}.${timestamp}.`), Buffer.from(body));
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature.toString('base64')}`,
  };
}

function describe(reason: unknown): string {
  if (reason instanceof Error) {
    const code = (reason as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${reason.message}` : reason.message;
  }
  return String(reason);
}
