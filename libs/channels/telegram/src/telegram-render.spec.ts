import { TelegramError } from 'telegraf';
import { type InlineKeyboardButton } from 'telegraf/types';
import { verifyButtonToken } from '@app/security';
import { type OutboundDelivery, type OutboundPayload, OutboundError } from '@app/core';
import { telegramFixture } from './telegram-fixtures.testing';
import { TELEGRAM_TEXT_LIMIT, fitText, renderTelegramCall } from './telegram-render';
import { TelegramSender, toOutboundError } from './telegram.sender';

const SECRET = 'unit-test-button-secret-0001';
const WAIT_ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const PRIVATE = { chatId: 111111111 };
const TOPIC = { chatId: -1001234567890, topicId: 42 };

function keyboard(
  payload: OutboundPayload,
  address = PRIVATE,
): InlineKeyboardButton.CallbackButton[][] {
  const call = renderTelegramCall(payload, address, SECRET);
  const markup = (call.args as { reply_markup?: { inline_keyboard?: unknown } }).reply_markup;
  return (markup?.inline_keyboard ?? []) as InlineKeyboardButton.CallbackButton[][];
}

describe(renderTelegramCall.name, () => {
  it('a message into a forum topic, as a reply (fixtures: sendMessage_forum_topic)', () => {
    const expected = telegramFixture<any>('api-responses.json').sendMessage_forum_topic.request;
    const call = renderTelegramCall(
      { kind: 'message', text: expected.text, thread: '57' },
      TOPIC,
      SECRET,
    );
    expect(call).toEqual({
      method: 'sendMessage',
      args: {
        ...expected,
        reply_parameters: { message_id: 57, allow_sending_without_reply: true },
      },
    });
  });

  it('a plain message to a private chat', () => {
    expect(renderTelegramCall({ kind: 'message', text: 'Shipping.' }, PRIVATE, SECRET)).toEqual({
      method: 'sendMessage',
      args: { chat_id: 111111111, text: 'Shipping.' },
    });
  });

  it('an approval: Reject / Approve buttons whose callback_data verifies to choices 0 / 1', () => {
    const rows = keyboard({
      kind: 'ask',
      waitId: WAIT_ID,
      text: 'Ship it?',
      expects: { type: 'boolean' },
      responders: null,
    });
    expect(rows.map((r) => r.map((b) => b.text))).toEqual([['Reject', 'Approve']]);
    const buttons = rows.flat();
    for (const button of buttons) {
      // Telegram: callback_data is 1-64 bytes.
      expect(Buffer.byteLength(button.callback_data)).toBeLessThanOrEqual(64);
    }
    expect(buttons.map((b) => verifyButtonToken(b.callback_data, [SECRET]))).toEqual([
      { kind: 'answer', waitId: WAIT_ID, choice: 0 },
      { kind: 'answer', waitId: WAIT_ID, choice: 1 },
    ]);
    expect(verifyButtonToken(buttons[0]!.callback_data, ['another-secret-00000'])).toBeNull();
  });

  it('an enum: one button per value, three a row, long labels one a row', () => {
    const short = keyboard({
      kind: 'ask',
      waitId: WAIT_ID,
      text: 'Which env?',
      expects: { enum: ['dev', 'staging', 'prod', 'qa'] },
      responders: null,
    });
    expect(short.map((r) => r.map((b) => b.text))).toEqual([['dev', 'staging', 'prod'], ['qa']]);
    expect(verifyButtonToken(short[1]![0]!.callback_data, [SECRET])).toEqual({
      kind: 'answer',
      waitId: WAIT_ID,
      choice: 3,
    });
    const long = keyboard({
      kind: 'ask',
      waitId: WAIT_ID,
      text: 'Which?',
      expects: { enum: ['roll back to the previous release', 'keep going'] },
      responders: null,
    });
    expect(long.map((r) => r.length)).toEqual([1, 1]);
  });

  it('free text: a ForceReply prompt, so the answer comes back as a reply to it', () => {
    const call = renderTelegramCall(
      { kind: 'ask', waitId: WAIT_ID, text: 'Why?', expects: { type: 'string' }, responders: null },
      TOPIC,
      SECRET,
    );
    expect(call).toEqual({
      method: 'sendMessage',
      args: {
        chat_id: -1001234567890,
        message_thread_id: 42,
        text: 'Why?',
        reply_markup: { force_reply: true, input_field_placeholder: 'Your answer' },
      },
    });
  });

  it('marks reminder and escalation rungs (engine flags and the port’s rung)', () => {
    const base = {
      kind: 'ask' as const,
      waitId: WAIT_ID,
      text: 'Ship it?',
      expects: null,
      responders: null,
    };
    const text = (p: OutboundPayload) =>
      (renderTelegramCall(p, PRIVATE, SECRET).args as { text: string }).text;
    expect(text({ ...base, reminder: true })).toBe('⏰ Reminder: Ship it?');
    expect(text({ ...base, rung: 'escalate' })).toBe('⚠️ Escalated: Ship it?');
  });

  it('an expired or handed-over question: its keyboard goes, a line says why', () => {
    const call = renderTelegramCall(
      {
        kind: 'answered',
        waitId: WAIT_ID,
        promptMessageId: '104',
        text: 'Ship it?',
        answeredBy: '',
        answer: null,
        closed: 'expired',
      },
      PRIVATE,
      SECRET,
    );
    expect(call).toEqual({
      method: 'editMessageText',
      args: {
        chat_id: 111111111,
        message_id: 104,
        text: 'Ship it?\n\n⌛ Expired: no answer in time.',
      },
    });
  });

  it('answered: the prompt’s text plus who answered, without its keyboard', () => {
    expect(
      renderTelegramCall(
        {
          kind: 'answered',
          waitId: WAIT_ID,
          promptMessageId: '104',
          text: 'Ship it?',
          answeredBy: 'Alice Example',
          answer: true,
        },
        PRIVATE,
        SECRET,
      ),
    ).toEqual({
      method: 'editMessageText',
      args: {
        chat_id: 111111111,
        message_id: 104,
        text: 'Ship it?\n\n✅ answered by Alice Example: approved',
      },
    });
  });

  it('a notice replies to the message it answers; pick buttons carry their ready-made tokens', () => {
    expect(
      renderTelegramCall(
        {
          kind: 'notice',
          text: 'Which one did you mean?',
          replyTo: '57',
          ephemeralTo: 'telegram:111111111',
          buttons: [
            { label: 'deploy · waiting · a1b2c3', token: 'tok-1' },
            { label: 'report · running · d4e5f6', token: 'tok-2' },
          ],
        },
        TOPIC,
        SECRET,
      ),
    ).toEqual({
      method: 'sendMessage',
      args: {
        chat_id: -1001234567890,
        message_thread_id: 42,
        text: 'Which one did you mean?',
        reply_parameters: { message_id: 57, allow_sending_without_reply: true },
        reply_markup: {
          inline_keyboard: [
            [{ text: 'deploy · waiting · a1b2c3', callback_data: 'tok-1' }],
            [{ text: 'report · running · d4e5f6', callback_data: 'tok-2' }],
          ],
        },
      },
    });
  });

  it('cuts text to 4096 characters, never between a surrogate pair', () => {
    expect(fitText('short')).toBe('short');
    const cut = fitText('x'.repeat(TELEGRAM_TEXT_LIMIT - 2) + '😀😀');
    expect(cut.length).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.isWellFormed()).toBe(true);
  });
});

describe(toOutboundError.name, () => {
  const errors = telegramFixture<any>('api-responses.json').errors;

  it('429: retryable after parameters.retry_after seconds', () => {
    const err = toOutboundError(new TelegramError(errors.too_many_requests.body), 'sendMessage');
    expect(err).toBeInstanceOf(OutboundError);
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 5_000 });
    expect(err.message).toContain('Too Many Requests');
  });

  it.each([
    ['bot_blocked_by_user', 403],
    ['message_to_edit_not_found', 400],
    ['invalid_token', 401],
  ])('%s (%d): not retryable', (name, code) => {
    const err = toOutboundError(new TelegramError(errors[name].body), 'sendMessage');
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain(String(code));
  });

  it('a migrated group says where it went', () => {
    const err = toOutboundError(
      new TelegramError(errors.group_migrated_to_supergroup.body),
      'sendMessage',
    );
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain('-1001234567890');
  });

  it('5xx and network failures: retryable', () => {
    expect(
      toOutboundError(new TelegramError({ error_code: 502, description: 'Bad Gateway' }), 'x'),
    ).toMatchObject({
      retryable: true,
      retryAfterMs: undefined,
    });
    expect(toOutboundError(new Error('connect ECONNREFUSED 127.0.0.1:9'), 'x')).toMatchObject({
      retryable: true,
    });
  });
});

describe('TelegramSender.limits', () => {
  const sender = new TelegramSender({
    telegram: {
      apiRoot: 'http://127.0.0.1:9/',
      bodyLimit: 1,
      pollRetry: 1,
      limits: { perChatPerSecond: 1, perBotPerSecond: 30, perGroupPerMinute: 20 },
      bots: {},
    },
    chat: {
      buttonSecrets: [SECRET],
      identities: {},
      rateLimit: { messages: 20, window: 60_000, reply: 'Slow down.' },
    },
    env: {} as never,
  });
  const delivery = (target: string): OutboundDelivery => ({
    outboxId: 'o1',
    workId: null,
    target,
    payload: { kind: 'message', text: 'hi' },
    idempotencyKey: 'k',
    attempt: 1,
  });

  it('1/s per chat and 30/s per bot; groups also 20/min', () => {
    expect(sender.limits(delivery('main:111111111'))).toEqual([
      { key: 'telegram:main:chat:111111111', max: 1, perMs: 1_000 },
      { key: 'telegram:main', max: 30, perMs: 1_000 },
    ]);
    expect(sender.limits(delivery('main:-1001234567890:42'))).toEqual([
      { key: 'telegram:main:chat:-1001234567890', max: 1, perMs: 1_000 },
      { key: 'telegram:main', max: 30, perMs: 1_000 },
      { key: 'telegram:main:group:-1001234567890', max: 20, perMs: 60_000 },
    ]);
  });

  it('refuses a target that is not a Telegram address, for good', async () => {
    await expect(sender.send(delivery('slack:C1:x:y'))).rejects.toMatchObject({ retryable: false });
  });
});

describe('renderTelegramCall with format markdown', () => {
  it.each([
    [
      'Markdown → HTML',
      'a **b** `c<d>`',
      { text: 'a <b>b</b> <code>c&lt;d&gt;</code>', parse_mode: 'HTML' },
    ],
    ['plain text → only escaped', 'x < y & z', { text: 'x &lt; y &amp; z', parse_mode: 'HTML' }],
    [
      'no visible text (a bare link definition) → plain',
      '[a]: https://x.y',
      { text: '[a]: https://x.y' },
    ],
    [
      'too long even once rendered (a row from before splitting) → plain, cut',
      'x'.repeat(TELEGRAM_TEXT_LIMIT + 10),
      { text: fitText('x'.repeat(TELEGRAM_TEXT_LIMIT + 10)) },
    ],
  ])('%s', (_name, text, expected) => {
    const call = renderTelegramCall({ kind: 'message', text }, PRIVATE, SECRET, 'markdown');
    expect(call.args).toEqual({ chat_id: PRIVATE.chatId, ...expected });
  });

  it('format plain sends the text as typed, and notices are never rendered', () => {
    expect(
      renderTelegramCall({ kind: 'message', text: '**b**' }, PRIVATE, SECRET, 'plain').args,
    ).toEqual({
      chat_id: PRIVATE.chatId,
      text: '**b**',
    });
    expect(
      renderTelegramCall({ kind: 'notice', text: '**b**' }, PRIVATE, SECRET, 'markdown').args,
    ).not.toHaveProperty('parse_mode');
  });
});
