import { type AppConfig } from '@app/config';
import { FIXTURE_SECRET_TOKEN, telegramFixture } from './telegram-fixtures.testing';
import { TelegramBots } from './telegram-bots';
import { verifyTelegramSecretToken } from './telegram-secret-token';
import { TelegramAdapter } from './telegram.adapter';
import { TelegramSender } from './telegram.sender';

const SECRET = 'unit-test-button-secret-0001';

const config = {
  telegram: {
    apiRoot: 'http://127.0.0.1:9/',
    bodyLimit: 1024 * 1024,
    pollRetry: 1_000,
    limits: { perChatPerSecond: 1, perBotPerSecond: 30, perGroupPerMinute: 20 },
    bots: {
      main: {
        token: '123456789:TEST_ONLY_token',
        mode: 'webhook',
        secretToken: FIXTURE_SECRET_TOKEN,
        username: 'workgate_test_bot',
        workflow: 'chat-approval',
        busyPolicy: 'inbox',
        collectWindow: 3_000,
        pollTimeout: 30_000,
        requireMention: true,
        format: 'markdown',
        liveness: 'stream',
      },
      local: {
        token: '987654321:TEST_ONLY_token',
        mode: 'polling',
        busyPolicy: 'inbox',
        collectWindow: 3_000,
        pollTimeout: 30_000,
        requireMention: true,
        format: 'markdown',
        liveness: 'stream',
      },
    },
  },
  chat: {
    buttonSecrets: [SECRET],
    identities: {},
    rateLimit: { messages: 20, window: 60_000, reply: 'Slow down.' },
  },
  env: {} as AppConfig['env'],
} as Pick<AppConfig, 'telegram' | 'chat' | 'env'>;

const bots = new TelegramBots(config);
const adapter = new TelegramAdapter(bots, () => [SECRET], new TelegramSender(config));
const body = Buffer.from(JSON.stringify(telegramFixture<any>('update-message.json')));
const headers = (token?: string | string[]) => ({
  'content-type': 'application/json',
  ...(token !== undefined ? { 'x-telegram-bot-api-secret-token': token } : {}),
});

describe(verifyTelegramSecretToken.name, () => {
  it('accepts the exact token (also as the first of repeated headers)', () => {
    expect(() =>
      verifyTelegramSecretToken(headers(FIXTURE_SECRET_TOKEN), FIXTURE_SECRET_TOKEN),
    ).not.toThrow();
    expect(() =>
      verifyTelegramSecretToken(headers([FIXTURE_SECRET_TOKEN, 'x']), FIXTURE_SECRET_TOKEN),
    ).not.toThrow();
  });

  it.each([
    ['missing', undefined, 'signature_missing'],
    ['empty', '', 'signature_missing'],
    ['wrong', 'wg_TEST_ONLY-telegram-secret_0002', 'signature_invalid'],
    ['a prefix of it', FIXTURE_SECRET_TOKEN.slice(0, 10), 'signature_invalid'],
    ['longer', `${FIXTURE_SECRET_TOKEN}x`, 'signature_invalid'],
    ['different case', FIXTURE_SECRET_TOKEN.toUpperCase(), 'signature_invalid'],
  ])('refuses a %s token: %s', (_label, token, code) => {
    expect(() => verifyTelegramSecretToken(headers(token), FIXTURE_SECRET_TOKEN)).toThrow(
      expect.objectContaining({ code }),
    );
  });
});

describe(TelegramAdapter.name, () => {
  it('verifies, then normalizes a fixture update', () => {
    const request = {
      params: { bot: 'main' },
      headers: headers(FIXTURE_SECRET_TOKEN),
      rawBody: body,
    };
    const verified = adapter.verify(request);
    expect(verified.bot.name).toBe('main');
    expect(verified.bot.botId).toBe(123456789);
    const [event, ...rest] = adapter.normalize(verified);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      channel: 'telegram',
      externalId: 'main:100000001',
      route: { openKind: 'chat-approval', busyPolicy: 'inbox', collectWindowMs: 3_000 },
    });
  });

  it.each([
    ['an unknown bot', 'nobody', headers(FIXTURE_SECRET_TOKEN), body, 'unknown_source'],
    [
      'a polled bot (it takes no webhooks)',
      'local',
      headers(FIXTURE_SECRET_TOKEN),
      body,
      'unknown_source',
    ],
    ['a missing secret token', 'main', headers(), body, 'signature_missing'],
    ['a wrong secret token', 'main', headers('nope'), body, 'signature_invalid'],
    // The token is checked before the body is read: a forged request learns nothing about parsing.
    [
      'a wrong token and a broken body',
      'main',
      headers('nope'),
      Buffer.from('{'),
      'signature_invalid',
    ],
    ['a broken body', 'main', headers(FIXTURE_SECRET_TOKEN), Buffer.from('{'), 'malformed_body'],
  ])('refuses %s', (_label, bot, h, raw, code) => {
    expect(() => adapter.verify({ params: { bot }, headers: h, rawBody: raw })).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it('renders an ask for a target, signing with the first secret', () => {
    const call = adapter.renderAsk(
      {
        kind: 'ask',
        waitId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        text: 'Ship it?',
        expects: { type: 'boolean' },
        responders: null,
      },
      'main:111111111',
    );
    expect(call.method).toBe('sendMessage');
    expect(() =>
      adapter.renderAsk(
        { kind: 'ask', waitId: 'w', text: 't', expects: null, responders: null },
        'bad',
      ),
    ).toThrow(/not a Telegram target/);
  });
});
