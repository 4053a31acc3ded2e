import { verifyButtonToken } from '@app/security';
import { type TelegramSender, createTelegramSender } from '@app/channels/telegram';
import { type OutboundDelivery, OutboundError, type OutboundPayload } from '@app/core';
import { testConfig } from '@test/gateway';
import { TelegramApiServer } from '@test/telegram-api';

const TOKEN = '123456789:TEST_ONLY-sender-bot-token';
const BUTTON_SECRET = 'e2e-telegram-sender-secret-0001';
const WAIT_ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const CHAT = 111111111;

describe('TelegramSender against a loopback Bot API (Telegraf’s client)', () => {
  let api: TelegramApiServer;
  let sender: TelegramSender;
  let n = 0;

  function delivery(payload: OutboundPayload, target = `main:${CHAT}`): OutboundDelivery {
    n += 1;
    return {
      outboxId: `o${n}`,
      workId: null,
      target,
      payload,
      idempotencyKey: `k${n}`,
      attempt: 1,
    };
  }

  async function failure(promise: Promise<unknown>): Promise<OutboundError> {
    const err = await promise.then(
      () => {
        throw new Error('expected the delivery to fail');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutboundError);
    return err as OutboundError;
  }

  beforeAll(async () => {
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'workgate_test_bot', first_name: 'Workgate Test Bot' })
      .start();
    const config = testConfig({
      schema: 'unused',
      prefix: 'unused',
      overrides: {
        chat: { buttonSecrets: [BUTTON_SECRET] },
        telegram: {
          apiRoot: api.url,
          bots: {
            main: { token: TOKEN, mode: 'polling' },
            ghost: { token: '5:nope', mode: 'polling' },
          },
        },
      },
    });
    sender = createTelegramSender(config) as TelegramSender;
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('a message: sendMessage, the message id back as the provider message id', async () => {
    const result = await sender.send(delivery({ kind: 'message', text: 'Deploying staging…' }));
    const call = api.on('sendMessage').at(-1)!;
    expect(call.token).toBe(TOKEN);
    // format: markdown (the default): the text goes as HTML, here with nothing to mark up.
    expect(call.args).toEqual({ chat_id: CHAT, text: 'Deploying staging…', parse_mode: 'HTML' });
    expect(result).toEqual({ providerMessageId: String(call.response.result.message_id) });
  });

  it('a message into a forum topic, as a reply', async () => {
    const chat = -1001234567890;
    await sender.send(delivery({ kind: 'message', text: 'root' }, `main:${chat}:42`));
    const root = api.on('sendMessage').at(-1)!.response.result.message_id;
    await sender.send(
      delivery({ kind: 'message', text: 'wk: running', thread: String(root) }, `main:${chat}:42`),
    );
    const call = api.on('sendMessage').at(-1)!;
    expect(call.args).toEqual({
      chat_id: chat,
      message_thread_id: 42,
      text: 'wk: running',
      parse_mode: 'HTML',
      reply_parameters: { message_id: root, allow_sending_without_reply: true },
    });
    expect(call.response.result).toMatchObject({
      message_thread_id: 42,
      reply_to_message: { message_id: root },
    });
  });

  it('an ask with buttons whose callback_data verifies with the secret; then the answered edit removes them', async () => {
    const ask = await sender.send(
      delivery({
        kind: 'ask',
        waitId: WAIT_ID,
        text: 'Approve “deploy staging”?',
        expects: { type: 'boolean' },
        responders: null,
      }),
    );
    const sent = api.messages.get(`${CHAT}/${ask.providerMessageId}`)!;
    const buttons = sent.reply_markup.inline_keyboard.flat();
    expect(buttons.map((b: any) => b.text)).toEqual(['Reject', 'Approve']);
    expect(buttons.map((b: any) => verifyButtonToken(b.callback_data, [BUTTON_SECRET]))).toEqual([
      { kind: 'answer', waitId: WAIT_ID, choice: 0 },
      { kind: 'answer', waitId: WAIT_ID, choice: 1 },
    ]);

    const answered: OutboundPayload = {
      kind: 'answered',
      waitId: WAIT_ID,
      promptMessageId: ask.providerMessageId!,
      text: 'Approve “deploy staging”?',
      answeredBy: 'Alice Example',
      answer: true,
    };
    const edit = await sender.send(delivery(answered));
    expect(edit).toEqual({ providerMessageId: ask.providerMessageId });
    const edited = api.messages.get(`${CHAT}/${ask.providerMessageId}`)!;
    expect(edited.text).toBe('Approve “deploy staging”?\n\n✅ answered by Alice Example: approved');
    expect(edited.reply_markup).toBeUndefined();

    // Delivered again (the worker died before recording it): Telegram says "not modified",
    // which means the edit is there — a success, not a failure.
    const again = await sender.send(delivery(answered));
    expect(again).toEqual({ providerMessageId: ask.providerMessageId });
    expect(api.on('editMessageText').at(-1)!.status).toBe(400);
  });

  it('a free-text ask asks for a reply (ForceReply)', async () => {
    await sender.send(
      delivery({
        kind: 'ask',
        waitId: WAIT_ID,
        text: 'Which branch?',
        expects: { type: 'string' },
        responders: null,
      }),
    );
    expect(api.on('sendMessage').at(-1)!.args.reply_markup).toEqual({
      force_reply: true,
      input_field_placeholder: 'Your answer',
    });
  });

  it('a notice replies to the message it answers', async () => {
    const { providerMessageId } = await sender.send(delivery({ kind: 'message', text: '/status' }));
    await sender.send(
      delivery({ kind: 'notice', text: 'Nothing is running here.', replyTo: providerMessageId! }),
    );
    expect(api.on('sendMessage').at(-1)!.args).toEqual({
      chat_id: CHAT,
      text: 'Nothing is running here.',
      reply_parameters: {
        message_id: Number(providerMessageId),
        allow_sending_without_reply: true,
      },
    });
  });

  it('429 with retry_after: retryable, with retryAfterMs', async () => {
    api.failNext({ kind: 'flood', retryAfter: 5 }, 1, 'sendMessage');
    const err = await failure(sender.send(delivery({ kind: 'message', text: 'flood' })));
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 5_000 });
    expect(api.on('sendMessage').at(-1)!.status).toBe(429);
  });

  it('5xx and an unreachable API: retryable', async () => {
    api.failNext({ kind: 'http', status: 502 }, 1, 'sendMessage');
    expect(await failure(sender.send(delivery({ kind: 'message', text: 'x' })))).toMatchObject({
      retryable: true,
    });
    const closed = await new TelegramApiServer().start();
    const unreachable = createTelegramSender(
      testConfig({
        schema: 'unused',
        prefix: 'unused',
        overrides: {
          telegram: { apiRoot: closed.url, bots: { main: { token: TOKEN, mode: 'polling' } } },
        },
      }),
    );
    await closed.stop();
    expect(await failure(unreachable.send(delivery({ kind: 'message', text: 'x' })))).toMatchObject(
      {
        retryable: true,
      },
    );
  });

  it.each([
    ['400 chat not found', 400, 'Bad Request: chat not found'],
    ['403 blocked by the user', 403, 'Forbidden: bot was blocked by the user'],
  ])('%s: not retryable', async (_label, code, description) => {
    api.failNext({ kind: 'error', code, description }, 1, 'sendMessage');
    const err = await failure(sender.send(delivery({ kind: 'message', text: 'x' })));
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain(description);
  });

  it('an edit of a message that is gone: not retryable', async () => {
    const err = await failure(
      sender.send(
        delivery({
          kind: 'answered',
          waitId: WAIT_ID,
          promptMessageId: '999999',
          text: 'q',
          answeredBy: 'A',
          answer: 'x',
        }),
      ),
    );
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain('message to edit not found');
  });

  it('a bad token (401), an unknown bot, a target that is not Telegram’s: not retryable', async () => {
    expect(
      await failure(sender.send(delivery({ kind: 'message', text: 'x' }, 'ghost:1'))),
    ).toMatchObject({
      retryable: false,
    });
    expect(
      await failure(sender.send(delivery({ kind: 'message', text: 'x' }, 'nobody:1'))),
    ).toMatchObject({
      retryable: false,
    });
    expect(
      await failure(sender.send(delivery({ kind: 'message', text: 'x' }, 'C0FAKE01'))),
    ).toMatchObject({
      retryable: false,
    });
  });
});
