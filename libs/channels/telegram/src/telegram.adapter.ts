import { type ChannelAdapter, type InboundRequest } from '@app/channels/core';
import {
  ErrorCode,
  type InboundEventInput,
  type OutboundAskPayload,
  type OutboundSender,
  WorkgateError,
} from '@app/core';
import { type TelegramBot, type TelegramBots } from './telegram-bots';
import {
  TELEGRAM_CHANNEL,
  type TelegramOutcome,
  classifyTelegramUpdate,
  parseTelegramTarget,
} from './telegram-normalize';
import { type TelegramUpdate, parseTelegramUpdateBody } from './telegram-payloads';
import { type TelegramCall, renderTelegramCall } from './telegram-render';
import { verifyTelegramSecretToken } from './telegram-secret-token';

/** A webhook delivery Telegram provably sent, parsed, with its bot. */
export interface TelegramVerified {
  bot: TelegramBot;
  update: TelegramUpdate;
}

/**
 * Telegram as a ChannelAdapter: webhook deliveries are authenticated by the bot's
 * secret token (`params.bot` names the bot), updates — from webhooks or getUpdates —
 * normalize into ledger events, and outbound payloads become Bot API calls.
 */
export class TelegramAdapter implements ChannelAdapter<TelegramVerified> {
  readonly channel = TELEGRAM_CHANNEL;

  constructor(
    private readonly bots: TelegramBots,
    private readonly buttonSecrets: () => string[],
    readonly sender: OutboundSender,
  ) {}

  /** The bot a webhook request is for: 404 when none by that name takes webhooks. */
  webhookBot(name: string): TelegramBot {
    const bot = this.bots.webhookBot(name);
    if (!bot) {
      throw new WorkgateError(
        ErrorCode.UnknownSource,
        `No Telegram bot named "${name}" receives webhooks here.`,
        { bot: name },
      );
    }
    return bot;
  }

  /** Unknown bot 404, then the secret token 401, then the body 400: cheapest first. */
  verify(request: InboundRequest): TelegramVerified {
    const bot = this.webhookBot(request.params.bot ?? '');
    verifyTelegramSecretToken(request.headers, bot.secretToken ?? '');
    return { bot, update: parseTelegramUpdateBody(request.rawBody) };
  }

  /** What an update becomes, including the callback query to answer (see TelegramOutcome). */
  classify(bot: TelegramBot, update: TelegramUpdate): TelegramOutcome {
    return classifyTelegramUpdate(update, bot, this.buttonSecrets());
  }

  normalize(verified: TelegramVerified): InboundEventInput[] {
    const outcome = this.classify(verified.bot, verified.update);
    return outcome.kind === 'event' ? [outcome.event] : [];
  }

  renderAsk(ask: OutboundAskPayload, target: string): TelegramCall {
    const address = parseTelegramTarget(target);
    if (!address) {
      throw new Error(`"${target}" is not a Telegram target (<bot>:<chatId>[:<topicId>])`);
    }
    return renderTelegramCall(ask, address, this.buttonSecrets()[0]!);
  }
}
