import { Inject, Injectable } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type BodyPolicy, firstHeader, isJsonContentType } from '@app/channels/core';
import { buttonSecrets } from '@app/security';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { ErrorCode, type IngestResult, WorkgateError } from '@app/core';
import { IngestService } from '@app/ledger';
import { type TelegramBot, TelegramBots } from './telegram-bots';
import { FORGED_BUTTON_FEEDBACK } from './telegram-normalize';
import { type TelegramUpdate } from './telegram-payloads';
import { verifyTelegramSecretToken } from './telegram-secret-token';
import { TelegramAdapter } from './telegram.adapter';
import { TelegramSender } from './telegram.sender';

type Headers = Record<string, string | string[] | undefined>;

/** answerCallbackQuery's text: 0-200 characters. */
const CALLBACK_TEXT_LIMIT = 200;

/**
 * What the gateway answers Telegram (any 2xx is success to Telegram). Never a `method`
 * field: Telegram would run a webhook answer carrying one as a Bot API call.
 */
export interface TelegramAnswer {
  ok: true;
  updateId: number;
  outcome: 'ingested' | 'forged_button' | 'ignored';
  result?: Pick<IngestResult, 'eventId' | 'decision' | 'workId' | 'duplicate'>;
}

/**
 * Telegram's inbound side, shared by the webhook controller and the poller:
 * classify → ingest → only then the 2xx (or the next getUpdates offset), so an
 * acknowledged update is committed. Every callback query is answered with
 * answerCallbackQuery after the commit — with the ingest's feedback, or an error
 * text for a button workgate cannot verify — because the presser's client shows a
 * spinner until it is.
 */
@Injectable()
export class TelegramIngressService {
  readonly bots: TelegramBots;
  readonly adapter: TelegramAdapter;
  readonly sender: TelegramSender;
  private readonly logger: Logger;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingestService: IngestService,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'telegram' });
    this.bots = new TelegramBots(config);
    this.sender = new TelegramSender(config, this.logger);
    this.adapter = new TelegramAdapter(this.bots, () => buttonSecrets(config), this.sender);
  }

  /**
   * The body policy for `/telegram/:bot`: the bot (404) and the secret token (401) are
   * checked before a byte of the body is read — the header is all the authentication
   * there is — then the content type (415) and the size, while streaming (413).
   */
  bodyPolicy = (request: FastifyRequest): BodyPolicy | undefined => {
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/telegram/')) return undefined;
    const name = (request.params as { bot?: string } | undefined)?.bot ?? path.slice(10);
    try {
      const bot = this.adapter.webhookBot(name);
      verifyTelegramSecretToken(request.headers, bot.secretToken ?? '');
    } catch (err) {
      if (err instanceof WorkgateError) return { limit: 0, raw: true, error: err };
      throw err;
    }
    if (!isJsonContentType(request.headers['content-type'])) {
      return {
        limit: 0,
        raw: true,
        error: new WorkgateError(
          ErrorCode.UnsupportedMediaType,
          `Telegram sends updates as application/json (got ${firstHeader(request.headers['content-type']) ?? 'no content type'}).`,
        ),
      };
    }
    return { limit: this.config.telegram.bodyLimit, raw: true };
  };

  /** One webhook delivery: refused (throws, nothing written) or committed, then answered. */
  async receive(
    botName: string,
    headers: Headers,
    rawBody: Buffer | undefined,
  ): Promise<TelegramAnswer> {
    const verified = this.adapter.verify({
      params: { bot: botName },
      headers,
      rawBody: rawBody ?? Buffer.alloc(0),
    });
    return this.handleUpdate(verified.bot, verified.update);
  }

  /** One update, from a webhook or getUpdates; throws when it could not be committed. */
  async handleUpdate(bot: TelegramBot, update: TelegramUpdate): Promise<TelegramAnswer> {
    const outcome = this.adapter.classify(bot, update);
    const updateId = update.update_id;
    switch (outcome.kind) {
      case 'event': {
        const result = await this.ingestService.ingest(outcome.event);
        if (outcome.callbackQueryId) {
          // A redelivered press was answered the first time (or its query has expired);
          // answering again without text only stops a spinner that may still turn.
          this.answerCallback(
            bot,
            outcome.callbackQueryId,
            result.duplicate ? undefined : result.feedback,
          );
        }
        const { eventId, decision, workId, duplicate } = result;
        return {
          ok: true,
          updateId,
          outcome: 'ingested',
          result: { eventId, decision, workId, duplicate },
        };
      }
      case 'forged_button':
        this.logger.warn(
          { bot: bot.name, updateId, reason: outcome.reason },
          'Telegram button press refused: nothing ingested',
        );
        this.answerCallback(bot, outcome.callbackQueryId, FORGED_BUTTON_FEEDBACK, true);
        return { ok: true, updateId, outcome: 'forged_button' };
      case 'ignored':
        this.logger.debug(
          { bot: bot.name, updateId, reason: outcome.reason },
          'Telegram update ignored',
        );
        if (outcome.callbackQueryId)
          this.answerCallback(bot, outcome.callbackQueryId, outcome.feedback);
        return { ok: true, updateId, outcome: 'ignored' };
    }
  }

  /**
   * After the commit and off the answer's path: the callback's answer is a courtesy to
   * the presser, not a ledger fact, so a failure (say, "query is too old") is logged
   * and forgotten rather than turned into a redelivery.
   */
  private answerCallback(bot: TelegramBot, id: string, text?: string, alert = false): void {
    const args = {
      callback_query_id: id,
      ...(text ? { text: text.slice(0, CALLBACK_TEXT_LIMIT) } : {}),
      ...(alert ? { show_alert: true } : {}),
    };
    this.sender.call(bot.name, 'answerCallbackQuery', args).catch((err: unknown) =>
      this.logger.warn(
        {
          bot: bot.name,
          callbackQueryId: id,
          err: err instanceof Error ? err.message : String(err),
        },
        'could not answer a Telegram callback query',
      ),
    );
  }
}
