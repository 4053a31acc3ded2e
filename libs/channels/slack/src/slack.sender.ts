import { webApi } from '@slack/bolt';
import { type AppConfig, type Logger } from '@app/config';
import { outboundFileOf, resolveOutboundFile } from '@app/channels/core';
import {
  type AttachmentStore,
  type ChatFormat,
  type OutboundDelivery,
  OutboundError,
  type OutboundPayload,
  type OutboundSender,
  type RateLimit,
} from '@app/core';
import { buttonSecrets } from '@app/security';
import {
  type SlackCall,
  renderAnswered,
  renderAsk,
  renderMessage,
  renderNotice,
} from './slack-blocks';
import { slackLogger } from './slack-logger';
import { uploadSlackFile } from './slack-file-upload';
import { SLACK_CHANNEL } from './slack-normalize';
import { SlackWorkspaces } from './slack-workspaces';

/**
 * `ok:false` errors worth another try: Slack's own trouble, not ours
 * (docs.slack.dev/reference/methods/chat.postMessage, "Errors").
 */
const RETRYABLE_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

const REQUEST_TIMEOUT_MS = 10_000;

/** The part of chat.postMessage / postEphemeral / update answers the sender reads. */
export interface SlackCallResult {
  ok?: boolean;
  ts?: string;
  message_ts?: string;
}

/** Parses `<workspace>:<channelId>` (OutboundPayload's Slack target format). */
export function parseSlackTarget(target: string): { workspace: string; channel: string } | null {
  const i = target.indexOf(':');
  if (i <= 0 || i === target.length - 1) return null;
  return { workspace: target.slice(0, i), channel: target.slice(i + 1) };
}

/** A Web API failure as the outbox understands it: retry (when) or give up. */
export function toOutboundError(err: unknown, method: string): OutboundError {
  if (err instanceof webApi.WebAPIRateLimitedError) {
    return new OutboundError(
      `${method}: rate limited, retry after ${err.retryAfter} s`,
      true,
      err.retryAfter * 1000,
    );
  }
  if (err instanceof webApi.WebAPIPlatformError) {
    const code = err.data.error;
    return new OutboundError(`${method}: ${code}`, RETRYABLE_PLATFORM_ERRORS.has(code));
  }
  if (err instanceof webApi.WebAPIHTTPError) {
    const retryable = err.statusCode >= 500 || err.statusCode === 408;
    return new OutboundError(`${method}: HTTP ${err.statusCode}`, retryable);
  }
  if (err instanceof webApi.WebAPIRequestError) {
    return new OutboundError(`${method}: ${err.original.message}`, true);
  }
  return new OutboundError(`${method}: ${err instanceof Error ? err.message : String(err)}`, true);
}

/** Which Web API method a payload becomes (what its rate limit depends on). */
export function slackMethodOf(payload: OutboundPayload): SlackCall['method'] {
  switch (payload.kind) {
    case 'message':
    case 'ask':
      return 'chat.postMessage';
    case 'answered':
      return 'chat.update';
    case 'notice':
      return payload.ephemeralTo ? 'chat.postEphemeral' : 'chat.postMessage';
  }
}

/** The Web API call an outbound payload becomes (also ChannelAdapter.renderAsk's answer). */
export function renderSlackCall(
  payload: OutboundPayload,
  channel: string,
  secret: string,
  format: ChatFormat = 'plain',
): SlackCall {
  switch (payload.kind) {
    case 'message':
      return renderMessage(payload, channel, format);
    case 'ask':
      return renderAsk(payload, channel, secret);
    case 'answered':
      return renderAnswered(payload, channel);
    case 'notice':
      return renderNotice(payload, channel);
  }
}

/**
 * Delivers Outbox rows of channel `slack` with @slack/web-api's WebClient, one client per
 * workspace (its bot token), pointed at `slack.apiUrl`. The client's own retries are off
 * (`retries: 0`, `rejectRateLimitedCalls`): the outbox owns retries, backoff and
 * Retry-After, and a client sleeping inside send() would hold the delivery's deadline.
 *
 * chat.postMessage takes no idempotency key: a delivery repeated because a worker died
 * between Slack's answer and the outbox's commit posts twice (at least once, not exactly
 * once). Failures Slack answered are never ambiguous, so retries of those are safe.
 */
export class SlackSender implements OutboundSender {
  readonly channel = SLACK_CHANNEL;
  private readonly clients = new Map<string, webApi.WebClient>();
  private readonly workspaces: SlackWorkspaces;

  constructor(
    private readonly config: Pick<AppConfig, 'slack' | 'chat' | 'env'>,
    private readonly logger?: Logger,
    /** Where the bytes of `message.file` by id are read (inline files need none). */
    private readonly attachments?: AttachmentStore,
  ) {
    this.workspaces = new SlackWorkspaces(config);
  }

  /**
   * docs.slack.dev/apis/web-api/rate-limits: chat.postMessage allows about one message per
   * second per channel; chat.update (Tier 3, 50+/min) and chat.postEphemeral (Tier 4,
   * 100+/min) are limited per workspace instead, so an edit or a private notice never
   * waits behind the channel's messages.
   */
  limits(delivery: OutboundDelivery): RateLimit[] {
    const target = parseSlackTarget(delivery.target);
    if (!target) return [];
    const { workspace, channel } = target;
    switch (slackMethodOf(delivery.payload)) {
      case 'chat.postMessage':
        return [{ key: `slack:${workspace}:chan:${channel}`, max: 1, perMs: 1000 }];
      case 'chat.update':
        return [{ key: `slack:${workspace}:chat.update`, max: 50, perMs: 60_000 }];
      case 'chat.postEphemeral':
        return [{ key: `slack:${workspace}:chat.postEphemeral`, max: 100, perMs: 60_000 }];
    }
  }

  async send(delivery: OutboundDelivery): Promise<{ providerMessageId: string | null }> {
    const target = parseSlackTarget(delivery.target);
    if (!target) {
      throw new OutboundError(
        `"${delivery.target}" is not a Slack target (<workspace>:<channelId>)`,
        false,
      );
    }
    const secret = buttonSecrets(this.config)[0]!;
    const format = this.workspaces.get(target.workspace)?.format ?? 'markdown';
    const file = outboundFileOf(delivery.payload);
    if (file && delivery.payload.kind === 'message') {
      const resolved = await resolveOutboundFile(file, this.attachments);
      const rendered = renderMessage(
        { ...delivery.payload, file: undefined },
        target.channel,
        format,
      );
      const client = this.client(target.workspace);
      return uploadSlackFile(client, resolved, rendered.args);
    }
    const call = renderSlackCall(delivery.payload, target.channel, secret, format);
    const result = await this.call(target.workspace, call);
    const ts =
      call.method === 'chat.postEphemeral'
        ? result.message_ts
        : call.method === 'chat.update'
          ? (result.ts ?? call.args.ts)
          : result.ts;
    return { providerMessageId: typeof ts === 'string' ? ts : null };
  }

  /** Makes one Web API call for a workspace; failures become OutboundErrors. */
  async call(workspace: string, call: SlackCall): Promise<SlackCallResult> {
    const client = this.client(workspace);
    try {
      switch (call.method) {
        case 'chat.postMessage':
          return await client.chat.postMessage(call.args);
        case 'chat.postEphemeral':
          return await client.chat.postEphemeral(call.args);
        case 'chat.update':
          return await client.chat.update(call.args);
      }
    } catch (err) {
      throw toOutboundError(err, call.method);
    }
  }

  client(workspace: string): webApi.WebClient {
    const existing = this.clients.get(workspace);
    if (existing) return existing;
    const ws = this.workspaces.get(workspace);
    if (!ws) {
      throw new OutboundError(`no Slack workspace named "${workspace}" is configured`, false);
    }
    const client = new webApi.WebClient(ws.botToken, {
      slackApiUrl: this.config.slack.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: REQUEST_TIMEOUT_MS,
      // Method names only: never let a string turn into a request to another host.
      allowAbsoluteUrls: false,
      ...(this.logger
        ? { logger: slackLogger(this.logger.child({ component: 'slack-web-api' })) }
        : {}),
    });
    this.clients.set(workspace, client);
    return client;
  }
}

/** The worker's Slack sender (register it with EngineModule.forWorker({ senders })). */
export function createSlackSender(
  config: Pick<AppConfig, 'slack' | 'chat' | 'env'>,
  logger?: Logger,
  attachments?: AttachmentStore,
): OutboundSender {
  return new SlackSender(config, logger, attachments);
}
