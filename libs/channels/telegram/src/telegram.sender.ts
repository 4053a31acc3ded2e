import { Telegram, TelegramError } from 'telegraf';
import { type Opts } from 'telegraf/types';
import { buttonSecrets } from '@app/security';
import { type AppConfig, type Logger } from '@app/config';
import { outboundFileOf, type ResolvedFile, resolveOutboundFile } from '@app/channels/core';
import {
  type AttachmentStore,
  type OutboundDelivery,
  type OutboundMessagePayload,
  OutboundError,
  type OutboundSender,
  type RateLimit,
} from '@app/core';
import { TelegramBots } from './telegram-bots';
import { TELEGRAM_CHANNEL, parseTelegramTarget } from './telegram-normalize';
import { type TelegramCall, renderTelegramCall } from './telegram-render';
import { telegramFileArgs } from './telegram-file.sender';

const REQUEST_TIMEOUT_MS = 10_000;

export type TelegramSenderConfig = Pick<AppConfig, 'telegram' | 'chat' | 'env'>;

/** The Bot API methods workgate calls, with their arguments. */
type Method =
  | 'sendMessage'
  | 'sendPhoto'
  | 'sendDocument'
  | 'editMessageText'
  | 'editMessageReplyMarkup'
  | 'answerCallbackQuery'
  | 'getUpdates'
  | 'setWebhook'
  | 'deleteWebhook'
  | 'getWebhookInfo'
  | 'getMe'
  | 'setMyCommands';

/**
 * A Bot API failure as the outbox understands it. Flood control is HTTP 429 with
 * `parameters.retry_after` in the body (seconds; Telegram sends no Retry-After header);
 * 5xx and network failures are worth another try; every other 4xx (400 chat not found,
 * 403 blocked by the user, 401 bad token) will fail the same way again.
 */
export function toOutboundError(err: unknown, method: string): OutboundError {
  if (err instanceof OutboundError) return err;
  if (err instanceof TelegramError) {
    const retryAfter = err.parameters?.retry_after;
    const what = `${method}: ${err.code} ${err.description}`;
    if (err.code === 429) return new OutboundError(what, true, (retryAfter ?? 1) * 1000);
    if (err.code >= 500) {
      return new OutboundError(
        what,
        true,
        retryAfter !== undefined ? retryAfter * 1000 : undefined,
      );
    }
    const migrated = err.parameters?.migrate_to_chat_id;
    return new OutboundError(
      migrated !== undefined ? `${what} (the group is now supergroup ${migrated})` : what,
      false,
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new OutboundError(`${method}: ${message}`, true);
}

/** Telegram's answer to markup it cannot read (unbalanced tags, an unknown tag or entity). */
function isParseError(err: unknown): boolean {
  return (
    err instanceof TelegramError &&
    err.code === 400 &&
    /can't parse entities/i.test(err.description)
  );
}

/**
 * Editing a message into exactly what it already is: a repeated "answered" delivery
 * (the worker died after Telegram applied it) — the edit is there, so it succeeded.
 */
function isNotModified(err: unknown): boolean {
  return (
    err instanceof TelegramError &&
    err.code === 400 &&
    /message is not modified/i.test(err.description)
  );
}

/**
 * Delivers Outbox rows of channel `telegram` with Telegraf's Telegram client (one per
 * bot, pointed at `telegram.apiRoot`). Telegraf's client does not retry; the outbox owns
 * retries, backoff and retry_after. Each call is cut off after 10 s (Telegraf's own
 * timeout is 500 s, longer than the outbox's attempt deadline).
 *
 * The Bot API takes no idempotency key: a delivery repeated because a worker died
 * between Telegram's answer and the outbox's commit sends twice (at least once).
 */
export class TelegramSender implements OutboundSender {
  readonly channel = TELEGRAM_CHANNEL;
  private readonly clients = new Map<string, Telegram>();
  private readonly bots: TelegramBots;

  constructor(
    private readonly config: TelegramSenderConfig,
    private readonly logger?: Logger,
    /** Where the bytes of `message.file` by id are read (inline files need none). */
    private readonly attachments?: AttachmentStore,
  ) {
    this.bots = new TelegramBots(config);
  }

  /**
   * Bot API FAQ ("My bot is hitting limits"): about one message a second per chat, 20 a
   * minute per group, 30 a second per bot overall (`telegram.limits`).
   */
  limits(delivery: OutboundDelivery): RateLimit[] {
    const target = parseTelegramTarget(delivery.target);
    if (!target) return [];
    const { bot, chatId } = target;
    const { perChatPerSecond, perBotPerSecond, perGroupPerMinute } = this.config.telegram.limits;
    const limits: RateLimit[] = [
      { key: `telegram:${bot}:chat:${chatId}`, max: perChatPerSecond, perMs: 1_000 },
      { key: `telegram:${bot}`, max: perBotPerSecond, perMs: 1_000 },
    ];
    if (typeof chatId === 'number' && chatId < 0) {
      limits.push({
        key: `telegram:${bot}:group:${chatId}`,
        max: perGroupPerMinute,
        perMs: 60_000,
      });
    }
    return limits;
  }

  async send(delivery: OutboundDelivery): Promise<{ providerMessageId: string | null }> {
    const target = parseTelegramTarget(delivery.target);
    if (!target) {
      throw new OutboundError(
        `"${delivery.target}" is not a Telegram target (<bot>:<chatId>[:<topicId>])`,
        false,
      );
    }
    const secret = buttonSecrets(this.config)[0]!;
    const format = this.bots.get(target.bot)?.format ?? 'markdown';
    const file = outboundFileOf(delivery.payload);
    if (file) {
      const resolved = await resolveOutboundFile(file, this.attachments);
      const payload = delivery.payload as OutboundMessagePayload;
      return this.sendFile(target.bot, resolved, payload, () =>
        renderTelegramCall({ ...payload, file: undefined }, target, secret, format),
      );
    }
    const call = renderTelegramCall(delivery.payload, target, secret, format);
    if (call.method === 'sendMessage' && !call.args.text) {
      throw new OutboundError('a Telegram message needs text', false);
    }
    try {
      const result = await this.sendRendered(target.bot, call, () =>
        renderTelegramCall(delivery.payload, target, secret, 'plain'),
      );
      const messageId =
        typeof result === 'object' && result !== null
          ? (result as { message_id?: unknown }).message_id
          : undefined;
      if (typeof messageId === 'number') return { providerMessageId: String(messageId) };
      return { providerMessageId: editedId(call) };
    } catch (err) {
      if (call.method === 'editMessageText' && isNotModified(err)) {
        return { providerMessageId: editedId(call) };
      }
      throw toOutboundError(err, call.method);
    }
  }

  /**
   * A message with a file: sendPhoto or sendDocument (multipart), the text as its caption
   * when it fits the 1024-character caption, else the text as a message of its own right
   * after the file. The file's message id is the row's provider message id.
   */
  private async sendFile(
    bot: string,
    file: ResolvedFile,
    payload: OutboundMessagePayload,
    render: () => TelegramCall,
  ): Promise<{ providerMessageId: string | null }> {
    const text = typeof payload.text === 'string' ? payload.text : '';
    const rendered = render();
    const { method, args, captionFits } = telegramFileArgs(file, rendered, text.length);
    let result: unknown;
    try {
      result = await this.callRaw(bot, method, args as never).catch((err: unknown) => {
        if (!('parse_mode' in args) || !isParseError(err)) throw err;
        // The caption's HTML was refused: the file with its words as plain text.
        const { parse_mode: _mode, ...plain } = args;
        return this.callRaw(bot, method, { ...plain, caption: text } as never);
      });
      if (!captionFits && text)
        await this.sendRendered(bot, rendered, () => ({
          method: 'sendMessage',
          args: { ...rendered.args, text, parse_mode: undefined } as never,
        }));
    } catch (err) {
      throw toOutboundError(err, method);
    }
    const messageId = (result as { message_id?: unknown } | null)?.message_id;
    return { providerMessageId: typeof messageId === 'number' ? String(messageId) : null };
  }

  /**
   * Sends a rendered call; when Telegram refuses its HTML ("400 Bad Request: can't parse
   * entities"), sends the same message as plain text: the words matter more than their
   * bold, and the refusal would repeat on every retry.
   */
  private async sendRendered(
    bot: string,
    call: TelegramCall,
    plain: () => TelegramCall,
  ): Promise<unknown> {
    try {
      return await this.callRaw(bot, call.method, call.args);
    } catch (err) {
      if (!('parse_mode' in call.args) || !isParseError(err)) throw err;
      this.logger?.warn(
        { bot, err: (err as TelegramError).description },
        'Telegram refused the rendered message; sending it as plain text',
      );
      const fallback = plain();
      return await this.callRaw(bot, fallback.method, fallback.args);
    }
  }

  /** One Bot API call for a bot; failures become OutboundErrors. */
  async call<M extends Method>(bot: string, method: M, args: Opts<M>): Promise<unknown> {
    try {
      return await this.callRaw(bot, method, args);
    } catch (err) {
      throw toOutboundError(err, method);
    }
  }

  /**
   * One call with Telegram's own error (a TelegramError, not an OutboundError), for
   * methods newer than Telegraf's types (sendMessageDraft): the liveness previews.
   */
  callUntyped(bot: string, method: string, args: Record<string, unknown>): Promise<unknown> {
    return this.callRaw(bot, method as Method, args);
  }

  private async callRaw<M extends Method>(bot: string, method: M, args: Opts<M>): Promise<unknown> {
    const client = this.client(bot);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      // Telegraf types its signal with the abort-controller shim; Node's is the same shape.
      return await client.callApi(method, args, { signal: abort.signal as never });
    } catch (err) {
      this.logger?.debug(
        { bot, method, err: err instanceof Error ? err.message : String(err) },
        'Telegram call failed',
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  client(bot: string): Telegram {
    const existing = this.clients.get(bot);
    if (existing) return existing;
    const config = this.bots.get(bot);
    if (!config) throw new OutboundError(`no Telegram bot named "${bot}" is configured`, false);
    const client = new Telegram(config.token, { apiRoot: this.config.telegram.apiRoot });
    this.clients.set(bot, client);
    return client;
  }
}

function editedId(call: TelegramCall): string | null {
  return call.method === 'editMessageText' && call.args.message_id !== undefined
    ? String(call.args.message_id)
    : null;
}

/** The worker's Telegram sender (register it with EngineModule.forWorker({ senders })). */
export function createTelegramSender(
  config: TelegramSenderConfig,
  logger?: Logger,
  attachments?: AttachmentStore,
): OutboundSender {
  return new TelegramSender(config, logger, attachments);
}
