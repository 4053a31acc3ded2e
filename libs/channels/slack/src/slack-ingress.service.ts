import { Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type BodyPolicy, firstHeader } from '@app/channels/core';
import { buttonSecrets } from '@app/security';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  type InboundEventInput,
  type IngestResult,
  WorkgateError,
} from '@app/core';
import { IngestService } from '@app/ledger';
import { type SlackEndpoint, SlackAdapter, type SlackVerified } from './slack.adapter';
import { SlackSender, parseSlackTarget } from './slack.sender';
import { SlackWorkspaces } from './slack-workspaces';

type Headers = Record<string, string | string[] | undefined>;

/** By endpoint; a Map, so `/slack/constructor` is no endpoint at all (404 from routing). */
const CONTENT_TYPES: ReadonlyMap<string, string> = new Map<SlackEndpoint, string>([
  ['events', 'application/json'],
  ['interactivity', 'application/x-www-form-urlencoded'],
]);

/** What the gateway answers Slack. */
export type SlackAnswer =
  | { kind: 'challenge'; challenge: string }
  | {
      kind: 'ingested';
      results: Array<Pick<IngestResult, 'eventId' | 'decision' | 'workId' | 'duplicate'>>;
    };

/**
 * Slack's inbound side: verify → normalize → ingest, and only then the 200 (Slack's
 * "ack"), so an acknowledged event is committed. Used by the HTTP controller and by
 * Socket Mode alike.
 *
 * Why not a Bolt `App` with a custom receiver: App.processEvent acknowledges Events API
 * requests before any middleware or listener runs ("Events API requests are acknowledged
 * right away"), so over Socket Mode the ack would leave before the commit, and over HTTP
 * the commit-then-answer order would hang on a receiver's processBeforeResponse
 * bookkeeping instead of one awaited call here. Its request verification also refuses
 * only old timestamps, not future ones (see slack-signature.ts). What is used from Bolt:
 * the Web API client and Block Kit types (SlackSender) and SocketModeReceiver.
 */
@Injectable()
export class SlackIngressService {
  readonly workspaces: SlackWorkspaces;
  readonly adapter: SlackAdapter;
  private readonly sender: SlackSender;
  private readonly logger: Logger;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingestService: IngestService,
    @Inject(CLOCK) clock: Clock,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'slack' });
    this.workspaces = new SlackWorkspaces(config);
    this.sender = new SlackSender(config, this.logger);
    this.adapter = new SlackAdapter(
      this.workspaces,
      () => buttonSecrets(config),
      this.sender,
      () => Math.floor(clock.now() / 1000),
    );
  }

  /** The body policy for `/slack/*` (see the gateway's body parser): exact bytes, own limit. */
  bodyPolicy = (request: FastifyRequest): BodyPolicy | undefined => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/slack/')) return undefined;
    const endpoint = path.slice('/slack/'.length);
    const expected = CONTENT_TYPES.get(endpoint);
    if (!expected) return undefined;
    if (this.workspaces.signingSecrets().length === 0) {
      return {
        limit: 0,
        raw: true,
        error: new WorkgateError(
          ErrorCode.UnknownSource,
          'No Slack workspace with a signing secret is configured.',
        ),
      };
    }
    const type = firstHeader(request.headers['content-type'])?.split(';')[0]?.trim().toLowerCase();
    if (type !== expected) {
      return {
        limit: 0,
        raw: true,
        error: new WorkgateError(
          ErrorCode.UnsupportedMediaType,
          `Slack sends /slack/${endpoint} as ${expected} (got ${type ?? 'no content type'}).`,
        ),
      };
    }
    return { limit: this.config.slack.bodyLimit, raw: true };
  };

  /** One HTTP request from Slack: refused (throws, nothing written) or committed, then answered. */
  async receive(
    endpoint: SlackEndpoint,
    headers: Headers,
    rawBody: Buffer | undefined,
  ): Promise<SlackAnswer> {
    const verified = this.adapter.verify({
      params: { endpoint },
      headers,
      rawBody: rawBody ?? Buffer.alloc(0),
    });
    const retry = firstHeader(headers['x-slack-retry-num']);
    return this.handle(
      verified,
      retry ? { retryNum: retry, reason: firstHeader(headers['x-slack-retry-reason']) } : undefined,
    );
  }

  /** A Socket Mode envelope's payload (already authenticated by the connection). */
  async receiveFromSocket(
    body: unknown,
    appToken: string,
    retryNum?: number,
  ): Promise<SlackAnswer> {
    let verified: SlackVerified;
    try {
      verified = this.adapter.fromSocket(body, appToken);
    } catch (err) {
      if (!(err instanceof WorkgateError)) throw err;
      // A forged button or a malformed payload over an authenticated socket: acknowledged,
      // since a redelivery would be refused the same way.
      this.logger.warn({ err: err.message, code: err.code }, 'Slack socket payload refused');
      return { kind: 'ingested', results: [] };
    }
    return this.handle(verified, retryNum ? { retryNum: String(retryNum) } : undefined);
  }

  private async handle(
    verified: SlackVerified,
    retry: { retryNum: string; reason?: string } | undefined,
  ): Promise<SlackAnswer> {
    if (verified.kind === 'url_verification') {
      return { kind: 'challenge', challenge: verified.challenge };
    }
    if (verified.kind === 'ignored') {
      this.logger.debug({ reason: verified.reason }, 'Slack request ignored');
      return { kind: 'ingested', results: [] };
    }
    const events = this.adapter.normalize(verified);
    const results: IngestResult[] = [];
    // One at a time, in payload order: they share a conversation lock anyway.
    for (const event of events) {
      const result = await this.ingestService.ingest(event);
      results.push(result);
      if (retry) {
        this.logger.info(
          {
            eventId: result.eventId,
            externalId: event.externalId,
            retry: retry.retryNum,
            retryReason: retry.reason,
            duplicate: result.duplicate,
          },
          'Slack retry received',
        );
      }
      if (verified.kind === 'actions' && result.feedback && !result.duplicate) {
        // After the commit and off the answer's path: ephemeral feedback is a courtesy
        // to the presser, not a ledger fact, so a failure is logged and forgotten.
        void this.showFeedback(event, verified.payload.user.id, result.feedback);
      }
    }
    return {
      kind: 'ingested',
      results: results.map(({ eventId, decision, workId, duplicate }) => ({
        eventId,
        decision,
        workId,
        duplicate,
      })),
    };
  }

  /**
   * IngestResult.feedback to the person who pressed a button, visible to them only
   * (chat.postEphemeral, through the configured Web API URL — not the payload's
   * response_url, so the gateway never posts to an address taken from a request).
   */
  private async showFeedback(event: InboundEventInput, user: string, text: string): Promise<void> {
    const address = event.replyAddress;
    if (!address) return;
    const target = parseSlackTarget(address.target);
    if (!target) return;
    const { workspace, channel } = target;
    try {
      await this.sender.call(workspace, {
        method: 'chat.postEphemeral',
        args: {
          channel,
          user,
          text,
          ...(address.thread ? { thread_ts: address.thread } : {}),
        },
      });
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message, workspace, channel, user },
        'could not show button feedback',
      );
    }
  }
}
