import { Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type BodyPolicy, firstHeader as header, isJsonContentType } from '@app/channels/core';
import { APP_CONFIG, type AppConfig, type WebhookSourceConfig } from '@app/config';
import { CLOCK, type Clock, ErrorCode, type IngestResult, WorkgateError } from '@app/core';
import { IngestService } from '@app/ledger';
import { HttpSender } from './outbound/http.sender';
import { WebhookAdapter } from './webhook.adapter';

type Headers = Record<string, string | string[] | undefined>;

/**
 * `POST /hooks/:source`: verify the signature over the exact bytes, parse, find the
 * idempotency and correlation keys, hand the event to the ledger. Checks run from the
 * cheapest and least revealing outward: unknown source (404) and content type (415)
 * before a byte is read, the size while streaming (413), the signature (401) before
 * the body is parsed (400), so an unauthenticated caller learns nothing about parsing.
 */
@Injectable()
export class WebhookService {
  /** By name; a Map, so `constructor` or `__proto__` in a path is just an unknown name. */
  private readonly sources: ReadonlyMap<string, WebhookSourceConfig>;
  private readonly adapter: WebhookAdapter;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly ingestService: IngestService,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.sources = new Map(Object.entries(config.webhooks.sources));
    this.adapter = new WebhookAdapter(config, clock, HttpSender.fromConfig(config));
  }

  /** The body policy for `/hooks/:source` requests (see the gateway's body parser). */
  bodyPolicy = (request: FastifyRequest): BodyPolicy | undefined => {
    if (!request.url.startsWith('/hooks/')) return undefined;
    const name = (request.params as { source?: string } | undefined)?.source ?? '';
    const source = this.sources.get(name);
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
    const request = {
      params: { source: sourceName },
      headers,
      rawBody: rawBody ?? Buffer.alloc(0),
    };
    const [event] = this.adapter.normalize(this.adapter.verify(request), request);
    // The signed bytes are kept as they came (the parsed JSON loses what a double cannot
    // hold) and compared when the delivery id repeats.
    return this.ingestService.ingest(event!, { rawBody: request.rawBody });
  }

  private unknownSource(name: string) {
    return new WorkgateError(
      ErrorCode.UnknownSource,
      `No webhook source named "${name}" is configured.`,
      { source: name },
    );
  }
}
