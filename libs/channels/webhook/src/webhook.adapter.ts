import {
  assertStorableJson,
  type ChannelAdapter,
  firstHeader as header,
  type InboundRequest,
  parseJsonBody,
} from '@app/channels/core';
import { type AppConfig, type ValueLocator, type WebhookSourceConfig } from '@app/config';
import {
  type Clock,
  ErrorCode,
  type InboundEventInput,
  type OutboundAskPayload,
  type OutboundSender,
  readPointer,
  scopedExternalId,
  WorkgateError,
} from '@app/core';
import { SCHEMES, type VerifyFailureCode } from './schemes';

type Headers = InboundRequest['headers'];

const FAILURE_CODES: Record<VerifyFailureCode, ErrorCode> = {
  signature_missing: ErrorCode.SignatureMissing,
  signature_invalid: ErrorCode.SignatureInvalid,
  timestamp_out_of_tolerance: ErrorCode.TimestampOutOfTolerance,
};

/** A delivery whose signature checked out, parsed, with its delivery id. */
export interface VerifiedWebhook {
  sourceName: string;
  source: WebhookSourceConfig;
  doc: unknown;
  deliveryId: string;
}

/** Event names as the common senders put them, for the workflow's convenience. */
function eventType(headers: Headers, doc: unknown): string | null {
  const fromHeader = header(headers['x-github-event']) ?? header(headers['x-event-type']);
  if (fromHeader) return fromHeader;
  const type = (doc as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : null;
}

/**
 * Signed webhooks as a channel: they arrive on `webhook` (`POST /hooks/:source`,
 * verified by the source's scheme) and leave on `http` (the HttpSender — an outbound
 * target is a URL, not the source a delivery came from).
 */
export class WebhookAdapter implements ChannelAdapter<VerifiedWebhook> {
  readonly channel = 'webhook';

  /** By name; a Map, so a path segment such as `constructor` finds nothing. */
  private readonly sources: ReadonlyMap<string, WebhookSourceConfig>;

  constructor(
    config: Pick<AppConfig, 'webhooks'>,
    private readonly clock: Clock,
    readonly sender: OutboundSender,
  ) {
    this.sources = new Map(Object.entries(config.webhooks.sources));
  }

  /** The signature (401) before the body is parsed (400), then the idempotency key. */
  verify(request: InboundRequest): VerifiedWebhook {
    const sourceName = request.params.source ?? '';
    const source = this.sources.get(sourceName);
    if (!source)
      throw new WorkgateError(
        ErrorCode.UnknownSource,
        `No webhook source named "${sourceName}" is configured.`,
        { source: sourceName },
      );
    const scheme = SCHEMES[source.scheme];
    const verified = scheme.verify({
      headers: request.headers,
      rawBody: request.rawBody,
      secrets: source.secrets,
      nowSeconds: Math.floor(this.clock.now() / 1000),
      toleranceSeconds: source.toleranceSeconds,
    });
    if (!verified.ok) throw new WorkgateError(FAILURE_CODES[verified.code], verified.detail);

    const doc = parseJsonBody(request.rawBody);
    assertStorableJson(doc);
    const idLocator = source.idempotency ?? scheme.defaultIdempotency;
    const deliveryId = source.idempotency
      ? locate(source.idempotency, request.headers, doc)
      : (verified.deliveryId ?? (idLocator ? locate(idLocator, request.headers, doc) : undefined));
    if (!deliveryId) {
      const where = idLocator
        ? 'header' in idLocator
          ? `header ${idLocator.header}`
          : `JSON pointer ${idLocator.pointer}`
        : 'the configured location';
      throw new WorkgateError(
        ErrorCode.MissingIdempotencyKey,
        `The delivery has no idempotency key (expected in ${where}).`,
      );
    }
    if (deliveryId.length > 200) {
      throw new WorkgateError(
        ErrorCode.MissingIdempotencyKey,
        'The idempotency key is longer than 200 characters.',
      );
    }
    return { sourceName, source, doc, deliveryId };
  }

  normalize(verified: VerifiedWebhook, request: InboundRequest): InboundEventInput[] {
    const { sourceName, source, doc, deliveryId } = verified;
    // Correlation keys are namespaced by source (`github:1347`), so a wait names both
    // where its answer comes from and which one it is.
    const correlationValue = source.correlation
      ? locate(source.correlation, request.headers, doc)
      : undefined;
    const correlationKey = correlationValue ? `${sourceName}:${correlationValue}` : null;
    return [
      {
        channel: 'webhook',
        source: sourceName,
        externalId: scopedExternalId(sourceName, deliveryId),
        conversationKey: correlationKey ? `webhook:${correlationKey}` : null,
        correlationKey,
        actor: { id: `webhook:${sourceName}` },
        raw: doc,
        body: {
          source: sourceName,
          deliveryId,
          eventType: eventType(request.headers, doc),
          correlationKey,
          payload: doc,
        },
        answer: doc,
        reference: null,
        command: null,
        route: {
          openKind: source.workflow ?? null,
          busyPolicy: source.busyPolicy,
          collectWindowMs: 0,
        },
      },
    ];
  }

  /**
   * An ask sent to an HTTP target is posted as JSON; the receiver answers through the
   * operator API's signal endpoint (or a webhook carrying the wait's correlation key).
   */
  renderAsk(ask: OutboundAskPayload, target: string): unknown {
    return { ...ask, target };
  }
}

function locate(locator: ValueLocator, headers: Headers, doc: unknown): string | undefined {
  const value =
    'header' in locator ? header(headers[locator.header]) : readPointer(doc, locator.pointer);
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
