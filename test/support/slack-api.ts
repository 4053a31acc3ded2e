import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { signSlackRequest } from '../../libs/channels/slack/src/slack-signature';
import { SlackFiles } from './slack-files';
import { SlackStreams, type StreamableMessage } from './slack-streams';

/** One Web API call as the loopback server received it. */
export interface SlackApiCall {
  method: string;
  /** The bearer token (or the form's `token` field). */
  token: string | null;
  contentType: string;
  /** Arguments, decoded from the form or JSON; JSON-valued form fields (blocks) parsed. */
  args: Record<string, any>;
  status: number;
  response: any;
  at: number;
}

/** What the next call(s) answer instead of succeeding. */
export type SlackFailure =
  | { kind: 'ratelimited'; retryAfterSeconds: number }
  | { kind: 'error'; error: string; extra?: Record<string, unknown> }
  | { kind: 'http'; status: number };

type StoredMessage = StreamableMessage;

const BOT = { user_id: 'U0FAKE02', bot_id: 'B0FAKE01', app_id: 'A0FAKE01' };

/** Fields the SDK sends JSON-encoded inside a form body. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata', 'chunks']);

/**
 * A loopback Slack Web API (https://slack.com/api/<method>) for the real @slack/web-api
 * client pointed at it with `slackApiUrl`: auth.test, chat.postMessage, chat.update,
 * chat.postEphemeral, apps.connections.open (Socket Mode) and the liveness methods
 * (assistant.threads.setStatus, chat.startStream / appendStream / stopStream, chat.delete:
 * slack-streams.ts), form or JSON bodies, Bearer tokens. Answers as Slack does (shapes from test/fixtures/slack/web-api-responses.json):
 * HTTP 200 `{ok:false, error}` for failures, HTTP 429 + Retry-After for rate limits.
 * Records every call; `failNext` scripts failures for the next N calls.
 */
export class SlackApiServer {
  readonly calls: SlackApiCall[] = [];
  /** Bot tokens and the team each belongs to; any other token is `invalid_auth`. */
  readonly tokens = new Map<string, { teamId: string; team: string }>();
  /** App-level tokens accepted by apps.connections.open. */
  readonly appTokens = new Set<string>();
  /** Channels that exist (any channel when empty); others are `channel_not_found`. */
  readonly channels = new Set<string>();
  readonly messages = new Map<string, StoredMessage>();
  /** Thread statuses, streamed messages and deletions (slack-streams.ts). */
  readonly live = new SlackStreams(this.messages, () => this.nextTs());
  /** Files users share and files the bot uploads (slack-files.ts). */
  readonly files = new SlackFiles(() => this.url.replace(/\/api\/$/, ''));
  private readonly failures: Array<{ method?: string; failure: SlackFailure }> = [];
  private server?: Server;
  private wss?: WebSocketServer;
  /** Socket Mode connections, newest last. */
  readonly sockets: WebSocket[] = [];
  /** Envelope ids the app acknowledged over Socket Mode. */
  readonly acks: string[] = [];
  private seq = 0;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    this.wss = new WebSocketServer({ server: this.server, path: '/socket' });
    this.wss.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data: Buffer) => {
        const msg = JSON.parse(data.toString('utf8'));
        if (msg.envelope_id) this.acks.push(msg.envelope_id);
      });
      // Slack's handshake: the client is ready once it sees hello.
      socket.send(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'loopback', approximate_connection_time: 3600 },
          connection_info: { app_id: BOT.app_id },
        }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** The next `count` calls (of `method`, or any) fail this way. */
  failNext(failure: SlackFailure, count = 1, method?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ method, failure });
  }

  on(method: string): SlackApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Sends a Socket Mode envelope to the newest connection; returns its envelope id. */
  pushEnvelope(
    type: 'events_api' | 'interactive',
    payload: unknown,
    opts: { envelopeId?: string; retryAttempt?: number } = {},
  ): string {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no Socket Mode connection');
    const envelopeId = opts.envelopeId ?? `env-${++this.seq}`;
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: false,
        ...(type === 'events_api'
          ? {
              retry_attempt: opts.retryAttempt ?? 0,
              retry_reason: opts.retryAttempt ? 'timeout' : '',
            }
          : {}),
      }),
    );
    return envelopeId;
  }

  private nextTs(): string {
    this.seq += 1;
    return `1767226000.${String(this.seq).padStart(6, '0')}`;
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    if (path.startsWith('/files-pri/')) {
      const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? null;
      const got = this.files.download(path, bearer, !!bearer && this.tokens.has(bearer));
      res.writeHead(got.status, got.headers);
      res.end(got.body);
      return;
    }
    if (path.startsWith('/upload/')) {
      void this.files.upload(path, String(req.headers['content-type'] ?? ''), body).then((got) => {
        res.writeHead(got.status, { 'content-type': 'text/plain' });
        res.end(got.body);
      });
      return;
    }
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const contentType = String(req.headers['content-type'] ?? '');
    const args = decodeArgs(contentType, body);
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = auth ?? (typeof args.token === 'string' ? args.token : null);
    const call: SlackApiCall = {
      method,
      token,
      contentType,
      args,
      status: 200,
      response: undefined,
      at: Date.now(),
    };
    this.calls.push(call);
    const answer = this.answer(method, token, args);
    call.status = answer.status;
    call.response = answer.body;
    res.writeHead(answer.status, {
      'content-type': 'application/json; charset=utf-8',
      ...answer.headers,
    });
    res.end(JSON.stringify(answer.body));
  }

  private answer(
    method: string,
    token: string | null,
    args: Record<string, any>,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    const i = this.failures.findIndex((f) => !f.method || f.method === method);
    if (i >= 0) {
      const [{ failure }] = this.failures.splice(i, 1) as [{ failure: SlackFailure }];
      switch (failure.kind) {
        case 'ratelimited':
          return {
            status: 429,
            body: { ok: false, error: 'ratelimited' },
            headers: { 'retry-after': String(failure.retryAfterSeconds) },
          };
        case 'error':
          return { status: 200, body: { ok: false, error: failure.error, ...failure.extra } };
        case 'http':
          return { status: failure.status, body: { ok: false, error: 'internal_error' } };
      }
    }
    if (method === 'apps.connections.open') {
      if (!token || !this.appTokens.has(token)) return ok200({ ok: false, error: 'invalid_auth' });
      return ok200({
        ok: true,
        url: this.url.replace(/^http/, 'ws').replace(/\/api\/$/, '/socket'),
      });
    }
    if (!token) return ok200({ ok: false, error: 'not_authed' });
    const team = this.tokens.get(token);
    if (!team) return ok200({ ok: false, error: 'invalid_auth' });
    const channel = typeof args.channel === 'string' ? args.channel : undefined;
    const channelKnown = () =>
      !!channel && (this.channels.size === 0 || this.channels.has(channel));
    if (this.live.handles(method)) return this.live.answer(method, args);
    switch (method) {
      case 'auth.test':
        return ok200({
          ok: true,
          url: 'https://workgate-fake.slack.com/',
          team: team.team,
          user: 'workgate_bot',
          team_id: team.teamId,
          user_id: BOT.user_id,
          bot_id: BOT.bot_id,
          is_enterprise_install: false,
        });
      case 'chat.postMessage': {
        if (!channelKnown()) return ok200({ ok: false, error: 'channel_not_found' });
        if (!args.text && !args.blocks) return ok200({ ok: false, error: 'no_text' });
        const ts = this.nextTs();
        const message: StoredMessage = {
          channel: channel!,
          ts,
          text: String(args.text ?? ''),
          blocks: args.blocks,
          ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
        };
        this.messages.set(`${channel}/${ts}`, message);
        return ok200({
          ok: true,
          channel,
          ts,
          message: {
            type: 'message',
            user: BOT.user_id,
            bot_id: BOT.bot_id,
            app_id: BOT.app_id,
            team: team.teamId,
            ...message,
          },
        });
      }
      case 'chat.update': {
        if (!channelKnown()) return ok200({ ok: false, error: 'channel_not_found' });
        const stored = this.messages.get(`${channel}/${String(args.ts)}`);
        if (!stored) return ok200({ ok: false, error: 'message_not_found' });
        stored.text = String(args.text ?? stored.text);
        stored.blocks = args.blocks ?? stored.blocks;
        return ok200({
          ok: true,
          channel,
          ts: stored.ts,
          text: stored.text,
          message: {
            type: 'message',
            user: BOT.user_id,
            bot_id: BOT.bot_id,
            text: stored.text,
            blocks: stored.blocks,
            edited: { user: BOT.bot_id, ts: this.nextTs() },
          },
        });
      }
      case 'files.getUploadURLExternal':
        return ok200(this.files.getUploadURLExternal(args));
      case 'files.completeUploadExternal':
        return ok200(this.files.completeUploadExternal(args));
      case 'chat.postEphemeral': {
        if (!channelKnown()) return ok200({ ok: false, error: 'channel_not_found' });
        if (!args.user) return ok200({ ok: false, error: 'user_not_in_channel' });
        return ok200({ ok: true, message_ts: this.nextTs() });
      }
      default:
        return ok200({ ok: false, error: 'unknown_method' });
    }
  }
}

function ok200(body: unknown) {
  return { status: 200, body };
}

function decodeArgs(contentType: string, body: Buffer): Record<string, any> {
  const text = body.toString('utf8');
  if (!text) return {};
  if (contentType.startsWith('application/json')) return JSON.parse(text);
  const args: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
  }
  return args;
}

/** Headers for a request signed exactly as Slack signs it (v0 HMAC over `v0:<ts>:<body>`). */
export function slackHeaders(
  body: string | Buffer,
  secret: string,
  opts: { at?: number; contentType?: string; retryNum?: number } = {},
): Record<string, string> {
  const at = opts.at ?? Math.floor(Date.now() / 1000);
  return {
    'content-type': opts.contentType ?? 'application/json',
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...signSlackRequest(body, secret, at),
    ...(opts.retryNum
      ? { 'x-slack-retry-num': String(opts.retryNum), 'x-slack-retry-reason': 'http_timeout' }
      : {}),
  };
}

/** An interactivity body as Slack sends it: `payload=<url-encoded JSON>`. */
export function slackInteractionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
