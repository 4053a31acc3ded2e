import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { parseTelegramHtml } from './telegram-html';
import { decodeMultipart, TelegramFiles, type UploadedTelegramFile } from './telegram-files';

/** One Bot API call as the loopback server received it. */
export interface TelegramApiCall {
  method: string;
  token: string;
  args: Record<string, any>;
  status: number;
  response: any;
  at: number;
  /** Files uploaded with the call (multipart). */
  uploads?: UploadedTelegramFile[];
}

/** What the next call(s) answer instead of succeeding (shapes: fixtures api-responses.json). */
export type TelegramFailure =
  | { kind: 'flood'; retryAfter: number }
  | { kind: 'error'; code: number; description: string; parameters?: Record<string, unknown> }
  | { kind: 'http'; status: number };

export interface TelegramBotIdentity {
  id: number;
  username: string;
  first_name: string;
}

export interface TelegramUserIdentity {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
}

/** A stored chat message (the bot's or a user's), as Telegram would return it. */
export type StoredTelegramMessage = Record<string, any> & {
  message_id: number;
  chat: Record<string, any>;
  text?: string;
};

interface PendingPoll {
  token: string;
  offset: number | undefined;
  limit: number;
  resolve: (answer: Answer) => void;
  timer: NodeJS.Timeout;
}

type Answer = { status: number; body: unknown };

interface BotState {
  bot: TelegramBotIdentity;
  /** Updates not confirmed yet, in order. */
  queue: Array<Record<string, any>>;
  nextUpdateId: number;
  webhook: { url: string; secret_token?: string; allowed_updates?: string[] } | null;
  /** The command menu setMyCommands set (default scope and language only). */
  commands: Array<{ command: string; description: string }>;
}

export const ALICE: TelegramUserIdentity = {
  id: 111111111,
  first_name: 'Alice',
  last_name: 'Example',
  username: 'alice_example',
};
export const BOB: TelegramUserIdentity = {
  id: 222222222,
  first_name: 'Bob',
  username: 'bob_example',
};

/**
 * A loopback Telegram Bot API (https://api.telegram.org/bot<token>/<method>) for
 * Telegraf's client pointed at it with `apiRoot`: getMe, getUpdates (offset confirms,
 * long polls that return as soon as an update is pushed, a second concurrent poll
 * terminating the first with 409), setWebhook / deleteWebhook / getWebhookInfo (a set
 * webhook makes getUpdates 409), sendMessage, editMessageText, editMessageReplyMarkup,
 * answerCallbackQuery, and sendChatAction, sendMessageDraft, deleteMessage (liveness). Answers as Telegram does (`{ok:true,result}`;
 * `{ok:false,error_code,description,parameters}` with the HTTP status = error_code).
 * Records every call; `failNext` scripts failures for the next N calls.
 */
export class TelegramApiServer {
  readonly calls: TelegramApiCall[] = [];
  readonly messages = new Map<string, StoredTelegramMessage>();
  /** sendMessageDraft calls that Telegram accepted, in order. */
  readonly drafts: Array<{ chatId: number; draftId: number; text: string; at: number }> = [];
  /** Messages removed by deleteMessage, in order. */
  readonly deleted: StoredTelegramMessage[] = [];
  /** Files users sent (getFile, downloads) — see telegram-files.ts. */
  readonly files = new TelegramFiles();
  private readonly bots = new Map<string, BotState>();
  private readonly failures: Array<{ method?: string; failure: TelegramFailure }> = [];
  private readonly polls = new Set<PendingPoll>();
  /** Next message id per chat: Telegram numbers messages per chat, users' and bot's alike. */
  private readonly messageIds = new Map<number, number>();
  private callbackSeq = 0;
  private server?: Server;
  /**
   * When it answers true for a call, the server never answers it and applies nothing:
   * the request is lost in flight, as with a worker killed before Telegram saw it.
   */
  hold?: (method: string, args: Record<string, any>) => boolean;

  /** The apiRoot to configure. */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  /** Registers a bot token (`<id>:<secret>`); its updates start at `firstUpdateId`. */
  addBot(token: string, bot: Omit<TelegramBotIdentity, 'id'>, firstUpdateId = 500_000_001): this {
    const id = Number(token.split(':')[0]);
    this.bots.set(token, {
      bot: { id, ...bot },
      queue: [],
      nextUpdateId: firstUpdateId,
      webhook: null,
      commands: [],
    });
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const poll of this.polls) {
      clearTimeout(poll.timer);
      poll.resolve({ status: 200, body: { ok: true, result: [] } });
    }
    this.polls.clear();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** The next `count` calls (of `method`, or any) fail this way. */
  failNext(failure: TelegramFailure, count = 1, method?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ method, failure });
  }

  on(method: string): TelegramApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  webhookOf(token: string) {
    return this.state(token).webhook;
  }

  /** The command menu the bot's setMyCommands left. */
  commandsOf(token: string) {
    return this.state(token).commands;
  }

  /** Updates not yet confirmed by a getUpdates offset. */
  pending(token: string): number[] {
    return this.state(token).queue.map((u) => u.update_id as number);
  }

  /** Puts an update in the bot's getUpdates queue (assigning the next update_id) and wakes long polls. */
  pushUpdate(token: string, update: Record<string, any>): Record<string, any> {
    const state = this.state(token);
    const full = { ...update, update_id: update.update_id ?? state.nextUpdateId };
    state.nextUpdateId = Math.max(state.nextUpdateId, full.update_id + 1);
    state.queue.push(full);
    state.queue.sort((a, b) => a.update_id - b.update_id);
    for (const poll of [...this.polls]) {
      if (poll.token !== token) continue;
      const ready = this.available(state, poll.offset, poll.limit);
      if (ready.length) this.finishPoll(poll, { status: 200, body: { ok: true, result: ready } });
    }
    return full;
  }

  /** An update id for an update that will be POSTed to a webhook instead of polled. */
  nextUpdateId(token: string): number {
    const state = this.state(token);
    return state.nextUpdateId++;
  }

  /**
   * A user's text message as Telegram would deliver it (not yet delivered): numbered in
   * the chat's sequence and stored, so a later reply can point at it.
   */
  userMessage(
    token: string,
    opts: {
      from?: TelegramUserIdentity;
      chat?: Record<string, any>;
      text: string;
      replyTo?: number;
      topicId?: number;
    },
  ): Record<string, any> {
    const from = opts.from ?? ALICE;
    const chat = opts.chat ?? { id: from.id, first_name: from.first_name, type: 'private' };
    const message: StoredTelegramMessage = {
      message_id: this.nextMessageId(chat.id),
      from: { is_bot: false, language_code: 'en', ...from },
      chat,
      date: Math.floor(Date.now() / 1000),
      text: opts.text,
      ...entitiesOf(opts.text),
      ...(opts.topicId !== undefined
        ? { message_thread_id: opts.topicId, is_topic_message: true }
        : {}),
    };
    if (opts.replyTo !== undefined) {
      const replied = this.messages.get(`${chat.id}/${opts.replyTo}`);
      message.reply_to_message = replied ?? { message_id: opts.replyTo, chat, date: 0 };
    }
    this.messages.set(`${chat.id}/${message.message_id}`, message);
    return { update_id: this.nextUpdateId(token), message };
  }

  /**
   * A user's message with a file (photo, document, voice or audio) and an optional
   * caption, as Telegram would deliver it; the bytes are held for getFile and download.
   */
  userFileMessage(
    token: string,
    opts: {
      from?: TelegramUserIdentity;
      kind: 'photo' | 'document' | 'voice' | 'audio';
      data: Buffer;
      fileName?: string;
      mimeType?: string;
      caption?: string;
      /** Declared size, when it should differ from the bytes (a provider under-declaring). */
      fileSize?: number;
    },
  ): Record<string, any> {
    const from = opts.from ?? ALICE;
    const chat = { id: from.id, first_name: from.first_name, type: 'private' };
    const held = this.files.hold(opts.data, opts.fileName?.split('.').pop() ?? 'bin');
    const file = {
      file_id: held.file_id,
      file_unique_id: held.file_unique_id,
      file_size: opts.fileSize ?? opts.data.byteLength,
    };
    const media =
      opts.kind === 'photo'
        ? {
            photo: [
              { ...file, file_size: 100, width: 90, height: 90 },
              { ...file, width: 800, height: 600 },
            ],
          }
        : opts.kind === 'voice'
          ? { voice: { ...file, duration: 2, mime_type: opts.mimeType ?? 'audio/ogg' } }
          : {
              [opts.kind]: {
                ...file,
                ...(opts.fileName ? { file_name: opts.fileName } : {}),
                ...(opts.mimeType ? { mime_type: opts.mimeType } : {}),
              },
            };
    const message: StoredTelegramMessage = {
      message_id: this.nextMessageId(chat.id),
      from: { is_bot: false, language_code: 'en', ...from },
      chat,
      date: Math.floor(Date.now() / 1000),
      ...media,
      ...(opts.caption !== undefined ? { caption: opts.caption } : {}),
    };
    this.messages.set(`${chat.id}/${message.message_id}`, message);
    return { update_id: this.nextUpdateId(token), message };
  }

  /** A press of an inline button on a stored bot message (callback_query update). */
  buttonPress(
    token: string,
    opts: { chatId: number; messageId: number; data: string; from?: TelegramUserIdentity },
  ): Record<string, any> {
    const message = this.messages.get(`${opts.chatId}/${opts.messageId}`);
    if (!message) throw new Error(`no message ${opts.messageId} in chat ${opts.chatId}`);
    const from = opts.from ?? ALICE;
    return {
      update_id: this.nextUpdateId(token),
      callback_query: {
        id: `${4767012345678901234n + BigInt(++this.callbackSeq)}`,
        from: { is_bot: false, language_code: 'en', ...from },
        message,
        chat_instance: '-3456789012345678901',
        data: opts.data,
      },
    };
  }

  /** The bot's messages in a chat, oldest first. */
  botMessages(chatId: number): StoredTelegramMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.chat.id === chatId && m.from?.is_bot)
      .sort((a, b) => a.message_id - b.message_id);
  }

  private nextMessageId(chatId: number): number {
    const next = this.messageIds.get(chatId) ?? 1000;
    this.messageIds.set(chatId, next + 1);
    return next;
  }

  private state(token: string): BotState {
    const state = this.bots.get(token);
    if (!state) throw new Error(`no bot with token ${token.split(':')[0]}:…`);
    return state;
  }

  private available(state: BotState, offset: number | undefined, limit: number) {
    return state.queue.filter((u) => offset === undefined || u.update_id >= offset).slice(0, limit);
  }

  private finishPoll(poll: PendingPoll, answer: Answer): void {
    if (!this.polls.delete(poll)) return;
    clearTimeout(poll.timer);
    poll.resolve(answer);
  }

  private async handle(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const download = /^\/file\/bot[^/]+\/(.+)$/.exec(path);
    if (download) {
      const got = this.files.download(download[1]!);
      res.writeHead(got.status, { 'content-length': String(got.body.byteLength) });
      res.end(got.body);
      return;
    }
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    const token = match?.[1] ?? '';
    const method = match?.[2] ?? '';
    const contentType = String(req.headers['content-type'] ?? '');
    const text = body.toString('utf8');
    // Telegraf uploads an InputFile as multipart/form-data; every other call is JSON.
    const { args, files: uploads } = contentType.startsWith('multipart/form-data')
      ? await decodeMultipart(contentType, body)
      : { args: (text ? JSON.parse(text) : {}) as Record<string, any>, files: [] };
    const call: TelegramApiCall = {
      method,
      token,
      args,
      status: 0,
      response: undefined,
      at: Date.now(),
      ...(uploads.length ? { uploads } : {}),
    };
    this.calls.push(call);
    // A client that goes away (a poller stopping) ends its long poll here too.
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    if (this.hold?.(method, args)) {
      call.status = -1;
      return;
    }
    const answer = await this.answer(method, token, args, gone.signal, uploads);
    call.status = answer.status;
    call.response = answer.body;
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }

  private async answer(
    method: string,
    token: string,
    args: Record<string, any>,
    gone: AbortSignal,
    uploads: UploadedTelegramFile[] = [],
  ): Promise<Answer> {
    const i = this.failures.findIndex((f) => !f.method || f.method === method);
    if (i >= 0) {
      const [{ failure }] = this.failures.splice(i, 1) as [{ failure: TelegramFailure }];
      switch (failure.kind) {
        case 'flood':
          return error(429, `Too Many Requests: retry after ${failure.retryAfter}`, {
            retry_after: failure.retryAfter,
          });
        case 'error':
          return error(failure.code, failure.description, failure.parameters);
        case 'http':
          return { status: failure.status, body: '<html><body>Bad Gateway</body></html>' };
      }
    }
    const state = this.bots.get(token);
    if (!state) return error(401, 'Unauthorized');
    const bot = state.bot;
    switch (method) {
      case 'getMe':
        return ok({
          ...bot,
          is_bot: true,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case 'setWebhook':
        if (!args.url) return error(400, 'Bad Request: bad webhook: URL must be non-empty');
        state.webhook = {
          url: args.url,
          ...(args.secret_token ? { secret_token: args.secret_token } : {}),
          ...(args.allowed_updates ? { allowed_updates: args.allowed_updates } : {}),
        };
        return ok(true, 'Webhook was set');
      case 'deleteWebhook':
        state.webhook = null;
        if (args.drop_pending_updates) state.queue = [];
        return ok(true, 'Webhook was deleted');
      case 'getWebhookInfo':
        return ok({
          url: state.webhook?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: state.queue.length,
          ...(state.webhook?.allowed_updates
            ? { allowed_updates: state.webhook.allowed_updates }
            : {}),
        });
      case 'getUpdates':
        return this.getUpdates(token, state, args, gone);
      case 'sendMessage':
        return this.sendMessage(bot, args);
      case 'getFile':
        return this.files.getFile(args);
      case 'sendPhoto':
      case 'sendDocument':
        return this.sendFile(bot, method, args, uploads);
      case 'editMessageText':
      case 'editMessageReplyMarkup':
        return this.edit(method, args);
      case 'sendChatAction':
      case 'sendMessageDraft':
      case 'deleteMessage':
        return this.live(method, args);
      case 'setMyCommands':
        return setMyCommands(state, args);
      case 'getMyCommands':
        return ok(state.commands);
      case 'answerCallbackQuery':
        if (!args.callback_query_id)
          return error(
            400,
            'Bad Request: query is too old and response timeout expired or query ID is invalid',
          );
        return ok(true);
      default:
        return error(404, 'Not Found: method not found');
    }
  }

  private getUpdates(
    token: string,
    state: BotState,
    args: Record<string, any>,
    gone: AbortSignal,
  ): Promise<Answer> | Answer {
    if (state.webhook) {
      return error(
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = typeof args.offset === 'number' ? args.offset : undefined;
    // An offset confirms every update below it: Telegram forgets them.
    if (offset !== undefined) state.queue = state.queue.filter((u) => u.update_id >= offset);
    const limit = Math.min(Math.max(Number(args.limit ?? 100), 1), 100);
    // A second poller for the same token ends the first one's poll (fixtures: 409).
    for (const poll of [...this.polls]) {
      if (poll.token === token) {
        this.finishPoll(
          poll,
          error(
            409,
            'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
          ),
        );
      }
    }
    const ready = this.available(state, offset, limit);
    const timeout = Number(args.timeout ?? 0);
    if (ready.length || timeout <= 0) return ok(ready);
    return new Promise<Answer>((resolve) => {
      const poll: PendingPoll = {
        token,
        offset,
        limit,
        resolve,
        timer: setTimeout(() => this.finishPoll(poll, ok([])), timeout * 1000),
      };
      this.polls.add(poll);
      gone.addEventListener('abort', () => this.finishPoll(poll, ok([])));
    });
  }

  private sendMessage(bot: TelegramBotIdentity, args: Record<string, any>): Answer {
    if (args.chat_id === undefined) return error(400, 'Bad Request: chat_id is empty');
    if (!args.text) return error(400, 'Bad Request: message text is empty');
    let visible = String(args.text);
    if (args.parse_mode === 'HTML') {
      const parsed = parseTelegramHtml(visible);
      if ('error' in parsed)
        return error(400, `Bad Request: can't parse entities: ${parsed.error}`);
      visible = parsed.text;
    }
    // The limit is on the text after entities parsing (Bot API, sendMessage).
    if (visible.length > 4096) return error(400, 'Bad Request: message is too long');
    const chatId = Number(args.chat_id);
    const replyId = args.reply_parameters?.message_id ?? args.reply_to_message_id;
    const replied = replyId !== undefined ? this.messages.get(`${chatId}/${replyId}`) : undefined;
    if (replyId !== undefined && !replied && !args.reply_parameters?.allow_sending_without_reply) {
      return error(400, 'Bad Request: message to be replied not found');
    }
    const message: StoredTelegramMessage = {
      message_id: this.nextMessageId(chatId),
      ...(args.message_thread_id !== undefined
        ? { message_thread_id: args.message_thread_id, is_topic_message: true }
        : {}),
      from: { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username },
      chat:
        chatId < 0
          ? { id: chatId, title: 'Workgate Ops (fake)', type: 'supergroup' }
          : { id: chatId, first_name: 'Alice', type: 'private' },
      date: Math.floor(Date.now() / 1000),
      text: visible,
      ...(args.parse_mode === 'HTML' ? { html: String(args.text) } : {}),
      ...(replied ? { reply_to_message: replied } : {}),
      ...(args.reply_markup?.inline_keyboard ? { reply_markup: args.reply_markup } : {}),
    };
    this.messages.set(`${chatId}/${message.message_id}`, message);
    return ok(message);
  }

  /**
   * sendPhoto / sendDocument with an uploaded file: stored as the bot's message with a
   * `photo` (sizes) or `document` and the caption, as Telegram returns it.
   */
  private sendFile(
    bot: TelegramBotIdentity,
    method: string,
    args: Record<string, any>,
    uploads: UploadedTelegramFile[],
  ): Answer {
    const field = method === 'sendPhoto' ? 'photo' : 'document';
    if (args.chat_id === undefined) return error(400, 'Bad Request: chat_id is empty');
    const upload = uploads.find((u) => u.field === field);
    if (!upload) return error(400, `Bad Request: there is no ${field} in the request`);
    let caption = args.caption === undefined ? undefined : String(args.caption);
    if (caption !== undefined && args.parse_mode === 'HTML') {
      const parsed = parseTelegramHtml(caption);
      if ('error' in parsed)
        return error(400, `Bad Request: can't parse entities: ${parsed.error}`);
      caption = parsed.text;
    }
    if (caption !== undefined && caption.length > 1024)
      return error(400, 'Bad Request: message caption is too long');
    const chatId = Number(args.chat_id);
    const held = this.files.hold(upload.data, upload.name.split('.').pop());
    const file = {
      file_id: held.file_id,
      file_unique_id: held.file_unique_id,
      file_size: upload.data.byteLength,
    };
    const message: StoredTelegramMessage = {
      message_id: this.nextMessageId(chatId),
      from: { id: bot.id, is_bot: true, first_name: bot.first_name, username: bot.username },
      chat: { id: chatId, first_name: 'Alice', type: chatId < 0 ? 'supergroup' : 'private' },
      date: Math.floor(Date.now() / 1000),
      ...(field === 'photo'
        ? { photo: [{ ...file, width: 90, height: 90 }] }
        : { document: { ...file, file_name: upload.name, mime_type: upload.type } }),
      ...(caption !== undefined ? { caption } : {}),
    };
    this.messages.set(`${chatId}/${message.message_id}`, message);
    return ok(message);
  }

  /**
   * The liveness methods (Bot API 9.3): sendChatAction (a known action, any chat),
   * sendMessageDraft (private chats only, a non-zero draft_id, 1-4096 characters; drafts
   * are kept in `drafts`, never as messages), deleteMessage (the message must exist;
   * deleted ones move to `deleted`).
   */
  private live(method: string, args: Record<string, any>): Answer {
    if (args.chat_id === undefined) return error(400, 'Bad Request: chat_id is empty');
    const chatId = Number(args.chat_id);
    switch (method) {
      case 'sendChatAction':
        if (!CHAT_ACTIONS.has(String(args.action)))
          return error(400, 'Bad Request: wrong parameter action in request');
        return ok(true);
      case 'sendMessageDraft': {
        if (!(chatId > 0))
          return error(400, 'Bad Request: drafts can be sent only to private chats');
        if (!Number(args.draft_id)) return error(400, 'Bad Request: draft_id must be non-zero');
        const text = String(args.text ?? '');
        if (!text || text.length > 4096)
          return error(400, 'Bad Request: text must be 1-4096 characters');
        this.drafts.push({ chatId, draftId: Number(args.draft_id), text, at: Date.now() });
        return ok(true);
      }
      default: {
        const key = `${chatId}/${Number(args.message_id)}`;
        const stored = this.messages.get(key);
        if (!stored) return error(400, 'Bad Request: message to delete not found');
        this.messages.delete(key);
        this.deleted.push(stored);
        return ok(true);
      }
    }
  }

  private edit(method: string, args: Record<string, any>): Answer {
    const key = `${Number(args.chat_id)}/${Number(args.message_id)}`;
    const stored = this.messages.get(key);
    if (!stored) return error(400, 'Bad Request: message to edit not found');
    const text = method === 'editMessageText' ? String(args.text ?? '') : stored.text;
    if (method === 'editMessageText' && !text)
      return error(400, 'Bad Request: message text is empty');
    // Without reply_markup an edit removes the inline keyboard (Bot API, editMessageText).
    const markup = args.reply_markup?.inline_keyboard?.length ? args.reply_markup : undefined;
    if (text === stored.text && JSON.stringify(markup) === JSON.stringify(stored.reply_markup)) {
      return error(
        400,
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
      );
    }
    const next: StoredTelegramMessage = {
      ...stored,
      text,
      edit_date: Math.floor(Date.now() / 1000),
    };
    if (markup) next.reply_markup = markup;
    else delete next.reply_markup;
    this.messages.set(key, next);
    return ok(next);
  }
}

/**
 * setMyCommands as the Bot API checks it: at most 100 commands, each 1-32 of a-z 0-9 _
 * with a 1-256 character description; the list replaces the previous one.
 */
function setMyCommands(state: BotState, args: Record<string, any>): Answer {
  const commands: unknown =
    typeof args.commands === 'string' ? JSON.parse(args.commands) : args.commands;
  if (!Array.isArray(commands)) return error(400, "Bad Request: can't parse commands JSON object");
  if (commands.length > 100) return error(400, 'Bad Request: too many commands specified');
  for (const c of commands as Array<Record<string, unknown>>) {
    if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command))
      return error(400, 'Bad Request: BOT_COMMAND_INVALID');
    if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256)
      return error(400, 'Bad Request: BOT_COMMAND_DESCRIPTION_INVALID');
  }
  state.commands = (commands as Array<{ command: string; description: string }>).map((c) => ({
    command: c.command,
    description: c.description,
  }));
  return ok(true);
}

/** sendChatAction's actions (Bot API). */
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

function ok(result: unknown, description?: string): Answer {
  return { status: 200, body: { ok: true, result, ...(description ? { description } : {}) } };
}

function error(code: number, description: string, parameters?: Record<string, unknown>): Answer {
  return {
    status: code,
    body: { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) },
  };
}

/** Headers of a webhook delivery as Telegram sends it. */
export function telegramWebhookHeaders(secretToken?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...(secretToken !== undefined ? { 'x-telegram-bot-api-secret-token': secretToken } : {}),
  };
}

/**
 * The entities Telegram marks in a text it delivers: a leading command (`bot_command`) and
 * every `@username` (`mention`; offsets and lengths in UTF-16 units, as JavaScript counts).
 */
export function entitiesOf(text: string): { entities?: Array<Record<string, unknown>> } {
  const entities: Array<Record<string, unknown>> = [];
  if (text.startsWith('/'))
    entities.push({ offset: 0, length: text.split(/\s/)[0]!.length, type: 'bot_command' });
  for (const m of text.matchAll(/(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}/g))
    if (!(text.startsWith('/') && m.index < text.split(/\s/)[0]!.length))
      entities.push({ offset: m.index, length: m[0].length, type: 'mention' });
  return entities.length ? { entities } : {};
}
