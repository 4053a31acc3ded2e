import { type Command } from 'commander';
import {
  TELEGRAM_ALLOWED_UPDATES,
  type TelegramBot,
  TelegramBots,
  TelegramSender,
} from '@app/channels/telegram';
import { type AppConfig, loadConfig } from '@app/config';
import { OutboundError } from '@app/core';
import { CliError, EXIT } from '../exit-codes';

/** The webhook URL of a bot: `<public url>/telegram/<bot>`, unless the URL already is one. */
export function telegramWebhookUrl(publicUrl: string, bot: string): string {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new CliError(EXIT.usage, `--url is not a URL: ${publicUrl}`);
  }
  if (url.protocol !== 'https:') {
    // Telegram delivers webhooks over HTTPS only (ports 443, 80, 88, 8443).
    throw new CliError(EXIT.usage, `Telegram only delivers to https:// URLs (got ${url.protocol})`);
  }
  const suffix = `/telegram/${bot}`;
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(suffix) ? path : `${path}${suffix}`;
  return url.toString();
}

function botOf(config: AppConfig, name: string): TelegramBot {
  const bot = new TelegramBots(config).get(name);
  if (!bot) {
    throw new CliError(
      EXIT.config,
      `No Telegram bot "${name}" in ${config.configPath ?? 'the config'} (have: ${Object.keys(config.telegram.bots).join(', ') || 'none'})`,
    );
  }
  return bot;
}

/** A failed Bot API call: unreachable or 5xx → 69, refused (4xx) → 1. */
function failed(err: unknown, what: string): CliError {
  if (err instanceof OutboundError) {
    return new CliError(err.retryable ? EXIT.unavailable : EXIT.failed, `${what}: ${err.message}`);
  }
  return new CliError(EXIT.failed, `${what}: ${err instanceof Error ? err.message : String(err)}`);
}

/** `workgate telegram …`: registers and removes bots' webhooks with the Bot API. */
export function registerTelegram(program: Command): void {
  const telegram = program
    .command('telegram')
    .description('Telegram bots (telegram.bots in the config)');

  telegram
    .command('set-webhook')
    .description('point a bot in webhook mode at this gateway (setWebhook with its secret token)')
    .requiredOption('--bot <name>', 'the bot, as named under telegram.bots')
    .requiredOption(
      '--url <public url>',
      'the gateway’s public https URL (…/telegram/<bot> is appended)',
    )
    .option('--drop-pending', 'drop the updates Telegram is still holding for the bot')
    .option('--max-connections <n>', 'parallel deliveries Telegram may make (1-100)', '40')
    .action(
      async (opts: { bot: string; url: string; dropPending?: boolean; maxConnections: string }) => {
        const config = loadConfig();
        const bot = botOf(config, opts.bot);
        if (bot.mode !== 'webhook' || !bot.secretToken) {
          throw new CliError(
            EXIT.config,
            `Bot "${bot.name}" is in ${bot.mode} mode; set mode: webhook and a secretToken first (a webhook stops getUpdates).`,
          );
        }
        const maxConnections = Number(opts.maxConnections);
        if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 100) {
          throw new CliError(EXIT.usage, '--max-connections must be 1-100');
        }
        const url = telegramWebhookUrl(opts.url, bot.name);
        const sender = new TelegramSender(config);
        try {
          await sender.call(bot.name, 'setWebhook', {
            url,
            secret_token: bot.secretToken,
            allowed_updates: [...TELEGRAM_ALLOWED_UPDATES],
            max_connections: maxConnections,
            drop_pending_updates: opts.dropPending ?? false,
          });
        } catch (err) {
          throw failed(err, 'setWebhook failed');
        }
        console.log(
          `Webhook set for bot ${bot.name}: ${url}\n(updates: ${TELEGRAM_ALLOWED_UPDATES.join(', ')}; authenticated by the bot's secretToken)`,
        );
      },
    );

  telegram
    .command('delete-webhook')
    .description('remove a bot’s webhook (needed before long polling: mode: polling)')
    .requiredOption('--bot <name>', 'the bot, as named under telegram.bots')
    .option('--drop-pending', 'drop the updates Telegram is still holding for the bot')
    .action(async (opts: { bot: string; dropPending?: boolean }) => {
      const config = loadConfig();
      const bot = botOf(config, opts.bot);
      try {
        await new TelegramSender(config).call(bot.name, 'deleteWebhook', {
          drop_pending_updates: opts.dropPending ?? false,
        });
      } catch (err) {
        throw failed(err, 'deleteWebhook failed');
      }
      console.log(`Webhook removed for bot ${bot.name}.`);
    });
}
