import { type CliRun, runCli } from '@test/cli';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelegramApiServer } from '@test/telegram-api';

const TOKEN = '123456789:TEST_ONLY-cli-bot-token';
const SECRET_TOKEN = 'wg_TEST_ONLY-cli-secret';

/** `workgate telegram set-webhook / delete-webhook`, the built CLI against a loopback Bot API. */
describe('workgate telegram', () => {
  let api: TelegramApiServer;
  let dir: string;
  let configPath: string;

  function cli(args: string[]): Promise<CliRun> {
    return runCli(['telegram', ...args], {
      WORKGATE_CONFIG: configPath,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_SECRET_TOKEN: SECRET_TOKEN,
    });
  }

  beforeAll(async () => {
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'workgate_test_bot', first_name: 'Workgate Test Bot' })
      .start();
    dir = mkdtempSync(join(tmpdir(), 'wg-telegram-cli-'));
    configPath = join(dir, 'workgate.config.yaml');
    writeFileSync(
      configPath,
      [
        'telegram:',
        `  apiRoot: ${api.url}`,
        '  bots:',
        '    main:',
        '      token: ${TELEGRAM_BOT_TOKEN}',
        '      secretToken: ${TELEGRAM_SECRET_TOKEN}',
        '    local:',
        '      token: ${TELEGRAM_BOT_TOKEN}',
        '      mode: polling',
        '    revoked:',
        '      token: 555:TEST_ONLY-revoked',
        '      secretToken: whatever',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('set-webhook registers <url>/telegram/<bot> with the secret token and the updates workgate reads', async () => {
    const run = await cli(['set-webhook', '--bot', 'main', '--url', 'https://gw.example.test/']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('https://gw.example.test/telegram/main');
    expect(api.on('setWebhook').at(-1)!.args).toEqual({
      url: 'https://gw.example.test/telegram/main',
      secret_token: SECRET_TOKEN,
      allowed_updates: ['message', 'edited_message', 'callback_query'],
      max_connections: 40,
      drop_pending_updates: false,
    });
    expect(api.webhookOf(TOKEN)).toMatchObject({ url: 'https://gw.example.test/telegram/main' });
  });

  it('delete-webhook removes it (needed before polling)', async () => {
    const run = await cli(['delete-webhook', '--bot', 'main', '--drop-pending']);
    expect(run).toMatchObject({ code: 0 });
    expect(api.on('deleteWebhook').at(-1)!.args).toEqual({ drop_pending_updates: true });
    expect(api.webhookOf(TOKEN)).toBeNull();
  });

  it.each([
    [
      'a bot in polling mode',
      ['--bot', 'local', '--url', 'https://gw.example.test'],
      78,
      /polling mode/,
    ],
    [
      'an unknown bot',
      ['--bot', 'nobody', '--url', 'https://gw.example.test'],
      78,
      /No Telegram bot "nobody"/,
    ],
    ['a plain-http URL', ['--bot', 'main', '--url', 'http://gw.example.test'], 64, /https/],
    [
      'a token the Bot API refuses',
      ['--bot', 'revoked', '--url', 'https://gw.example.test'],
      1,
      /401 Unauthorized/,
    ],
  ])('refuses %s', async (_label, args, code, words) => {
    const calls = api.on('setWebhook').length;
    const run = await cli(['set-webhook', ...args]);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(words);
    if (code !== 1) expect(api.on('setWebhook')).toHaveLength(calls);
  });
});
