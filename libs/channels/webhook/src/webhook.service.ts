import { Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import {
  type BodyPolicy,
  assertStorableJson,
  firstHeader as header,
  isJsonContentType,
  parseJsonBody,
} from '@app/channels/core';
import {
  APP_CONFIG,
  type AppConfig,
  type ValueLocator,
  type WebhookSourceConfig,
} from '@app/config';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  type InboundEventInput,
  type IngestResult,
  WorkgateError,
  scopedExternalId,
} from '@app/core';
import { IngestService } from '@app/ledger';
import { readPointer } from '@app/core';
import { SCHEMES, type VerifyFailureCode } from './schemes';

type Headers = Record<string, string | string[] | undefined>;

const FAILURE_CODES: Record<VerifyFailureCode, ErrorCode> = {
  signature_missing: ErrorCode.SignatureMissing,
  signature_invalid: ErrorCode.SignatureInvalid,
  timestamp_out_of_tolerance: ErrorCode.TimestampOutOfTolerance,
};

/** Event names as the common senders put them, for the workflow's convenience. */
function eventType(headers: Headers, doc: unknown): string | null {
  const fromHeader = header(headers['x-github-event']) ?? header(headers['x-event-type']);
  if (fromHeader) return fromHeader;
  const type = (doc as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : null;
}

/**
 * `POST /hooks/:source`: verify the signature over the exact bytes, parse, find the
 * idempotency and correlation keys, hand the event to the ledger. Checks run from the
 * cheapest and least revealing outward: unknown source (404) and content type (415)
 * before a byte is read, the size while streaming (413), the signature (401) before
 * the body is parsed (400), so an unauthenticated caller learns nothing about parsing.
 */
@Injectable()
export class WebhookService {
  private readonly sources: Record<string, WebhookSourceConfig>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly ingestService: IngestService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.sources = config.webhooks.sources;
  }

  /** The body policy for `/hooks/:source` requests (see the gateway's body parser). */
  bodyPolicy = (request: FastifyRequest): BodyPolicy | undefined => {
    if (!request.url.startsWith('/hooks/')) return undefined;
    const name = (request.params as { source?: string } | undefined)?.source ?? '';
    const source = this.sources[name];
    if (!source) return { limit: 0, raw: true, error: this.unknownSource(name) };
    if (!isJsonContentType(header(request.headers['content-type']))) {
      return {
        limit: 0,
        raw: true,
        error: new WorkgateError(
          ErrorCode.UnsupportedMediaType,
          `Webhooks must be sent as application/json (got ${header(request.headers['content-type']) ?? 'no content type'}).`,
        ),
      };
    }
    return { limit: source.bodyLimit, raw: true };
  };

  async receive(
    sourceName: string,
    headers: Headers,
    rawBody: Buffer | undefined,
  ): Promise<IngestResult> {
    const source = this.sources[sourceName];
    if (!source) throw this.unknownSource(sourceName);
    const bytes = rawBody ?? Buffer.alloc(0);

    const verified = SCHEMES[source.scheme].verify({
      headers,
      rawBody: bytes,
      secrets: source.secrets,
      nowSeconds: Math.floor(this.clock.now() / 1000),
      toleranceSeconds: source.toleranceSeconds,
    });
    if (!verified.ok) throw new WorkgateError(FAILURE_CODES[verified.code], verified.detail);

    const doc = this.parse(bytes);
    const scheme = SCHEMES[source.scheme];
    const idLocator = source.idempotency ?? scheme.defaultIdempotency;
    const deliveryId = source.idempotency
      ? this.locate(source.idempotency, headers, doc)
      : (verified.deliveryId ?? (idLocator ? this.locate(idLocator, headers, doc) : undefined));
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
    // Correlation keys are namespaced by source (`github:1347`), so a wait names both
    // where its answer comes from and which one it is.
    const correlationValue = source.correlation
      ? this.locate(source.correlation, headers, doc)
      : undefined;
    const correlationKey = correlationValue ? `${sourceName}:${correlationValue}` : null;

    const event: InboundEventInput = {
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
        eventType: eventType(headers, doc),
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
    };
    return this.ingestService.ingest(event);
  }

  private parse(bytes: Buffer): unknown {
    const doc = parseJsonBody(bytes);
    assertStorableJson(doc);
    return doc;
  }

  private locate(locator: ValueLocator, headers: Headers, doc: unknown): string | undefined {
    const value =
      'header' in locator ? header(headers[locator.header]) : readPointer(doc, locator.pointer);
    if (typeof value === 'string') return value.trim() || undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return undefined;
  }

  private unknownSource(name: string) {
    return new WorkgateError(
      ErrorCode.UnknownSource,
      `No webhook source named "${name}" is configured.`,
      { source: name },
    );
  }
}
