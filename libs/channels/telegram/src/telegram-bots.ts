import { type AppConfig, type TelegramBotConfig } from '@app/config';
import { type RoutePolicy } from '@app/core';

/** A configured bot, as normalization and delivery need it. */
export interface TelegramBot extends TelegramBotConfig {
  /** The config name (`telegram.bots.<name>`): targets, conversation keys, dedupe keys. */
  name: string;
  /** The bot's own user id: the token's prefix (`<bot id>:<secret>`), no getMe needed. */
  botId: number;
  /** What a message that resumes nothing does. */
  route: RoutePolicy;
}

/** The configured bots, by name. */
export class TelegramBots {
  private readonly byName = new Map<string, TelegramBot>();

  constructor(config: Pick<AppConfig, 'telegram'>) {
    for (const [name, bot] of Object.entries(config.telegram.bots)) {
      this.byName.set(name, {
        ...bot,
        name,
        botId: Number(bot.token.slice(0, bot.token.indexOf(':'))),
        route: {
          openKind: bot.workflow ?? null,
          busyPolicy: bot.busyPolicy,
          collectWindowMs: bot.collectWindow,
        },
      });
    }
  }

  list(): TelegramBot[] {
    return [...this.byName.values()];
  }

  get(name: string): TelegramBot | undefined {
    return this.byName.get(name);
  }

  /** A bot Telegram may POST updates to (`mode: webhook`); polled bots have no webhook. */
  webhookBot(name: string): TelegramBot | undefined {
    const bot = this.byName.get(name);
    return bot?.mode === 'webhook' ? bot : undefined;
  }
}

/**
 * Workflow kinds the bots open, with where the config names them: the worker refuses to
 * start when one of them is not registered (as it does for webhook sources).
 */
export function telegramConfiguredKinds(
  config: Pick<AppConfig, 'telegram'>,
): Array<{ kind: string; where: string }> {
  return Object.entries(config.telegram.bots).flatMap(([name, bot]) =>
    bot.workflow ? [{ kind: bot.workflow, where: `telegram.bots.${name}.workflow` }] : [],
  );
}
