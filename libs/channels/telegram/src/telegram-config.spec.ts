import { ConfigError, loadConfig } from '@app/config';
import { TelegramBots, telegramConfiguredKinds } from './telegram-bots';

function load(telegram: unknown, env: Record<string, string> = {}) {
  return loadConfig({ env, path: null, overrides: { telegram } });
}

describe('telegram config', () => {
  it('reads bots with tokens from the environment and fills the defaults', () => {
    const config = load(
      {
        apiRoot: 'http://127.0.0.1:9/tg',
        bots: {
          main: {
            token: '${TELEGRAM_BOT_TOKEN}',
            secretToken: '${TELEGRAM_SECRET_TOKEN}',
            workflow: 'chat-approval',
          },
          local: { token: '987654321:AAE_local', mode: 'polling', pollTimeout: '2s' },
        },
      },
      { TELEGRAM_BOT_TOKEN: '123456789:AAE_main', TELEGRAM_SECRET_TOKEN: 'wg_secret-1' },
    );
    // A path prefix keeps working: Telegraf resolves `./bot<token>/<method>` against it.
    expect(config.telegram.apiRoot).toBe('http://127.0.0.1:9/tg/');
    expect(config.telegram.bodyLimit).toBe(1024 * 1024);
    expect(config.telegram.pollRetry).toBe(5_000);
    expect(config.telegram.bots.main).toEqual({
      token: '123456789:AAE_main',
      mode: 'webhook',
      secretToken: 'wg_secret-1',
      workflow: 'chat-approval',
      busyPolicy: 'inbox',
      collectWindow: 3_000,
      pollTimeout: 30_000,
      requireMention: true,
      format: 'markdown',
      liveness: 'stream',
    });
    expect(config.telegram.bots.local).toMatchObject({ mode: 'polling', pollTimeout: 2_000 });
    const bots = new TelegramBots(config);
    expect(bots.get('main')).toMatchObject({
      botId: 123456789,
      route: { openKind: 'chat-approval', busyPolicy: 'inbox', collectWindowMs: 3_000 },
    });
    expect(bots.webhookBot('local')).toBeUndefined();
    expect(telegramConfiguredKinds(config)).toEqual([
      { kind: 'chat-approval', where: 'telegram.bots.main.workflow' },
    ]);
  });

  it('defaults to the real Bot API and no bots', () => {
    const config = loadConfig({ env: {}, path: null });
    expect(config.telegram.apiRoot).toBe('https://api.telegram.org/');
    expect(config.telegram.bots).toEqual({});
  });

  it.each([
    ['a webhook bot without a secret token', { token: '1:a' }, 'secretToken'],
    [
      'a secret token Telegram would refuse',
      { token: '1:a', secretToken: 'has space' },
      'secretToken',
    ],
    ['a token that is not a bot token', { token: 'xoxb-1', mode: 'polling' }, 'token'],
    [
      'a poll timeout over 50 s',
      { token: '1:a', mode: 'polling', pollTimeout: '60s' },
      'pollTimeout',
    ],
    [
      'a poll timeout in fractions',
      { token: '1:a', mode: 'polling', pollTimeout: 1500 },
      'pollTimeout',
    ],
  ])('refuses %s', (_label, bot, path) => {
    expect(() => load({ bots: { main: bot } })).toThrow(ConfigError);
    expect(() => load({ bots: { main: bot } })).toThrow(path);
  });

  it('refuses bot names that cannot be part of a target', () => {
    expect(() => load({ bots: { 'Main:1': { token: '1:a', mode: 'polling' } } })).toThrow(
      ConfigError,
    );
  });
});
