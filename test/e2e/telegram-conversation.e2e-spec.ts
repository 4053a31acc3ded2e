import { z } from 'zod';
import { createTelegramSender } from '@app/channels/telegram';
import {
  CHAT_COMMAND_MENU,
  DEFAULT_BOT_DESCRIPTION,
  type OutboundDelivery,
  type OutboundSender,
} from '@app/core';
import { defineWorkflow } from '@app/engine';
import { outboundSenders } from '../../apps/worker/src/worker.module';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  ALICE,
  BOB,
  type StoredTelegramMessage,
  TelegramApiServer,
  type TelegramUserIdentity,
  telegramWebhookHeaders,
} from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const BUTTON_SECRET = 'e2e-telegram-conversation-secret-01';
const TURNS = 50;
const GROUP = -100200300400;

const chatInput = z.object({ text: z.string() }).passthrough();

/** Approval by button; only Bob may answer. */
const approve = defineWorkflow(
  'tg.approve',
  async (ctx, input) => {
    const ok = await ctx.ask<boolean>({
      text: `Ship ${input.text}?`,
      expects: { type: 'boolean' },
      responders: [`telegram:${BOB.id}`],
    });
    await ctx.send(ctx.origin.address!, { text: ok ? 'Shipping.' : 'Not shipping.' });
    return { ok };
  },
  { input: chatInput },
);

/** A free-text answer validated against a pattern. */
const count = defineWorkflow(
  'tg.count',
  async (ctx) => ({
    n: await ctx.ask<string>({
      text: 'How many?',
      expects: { type: 'string', pattern: '^[0-9]+$' },
    }),
  }),
  { input: chatInput },
);

/** Fifty questions in one chat, each answered by a reply that resumes the same work. */
const turns = defineWorkflow(
  'tg.turns',
  async (ctx) => {
    const said: string[] = [];
    for (let i = 0; i < TURNS; i++)
      said.push(await ctx.ask<string>({ text: `Turn ${i}?`, expects: { type: 'string' } }));
    return { said };
  },
  { input: chatInput },
);

/**
 * Asked first on another channel (a recording stand-in for Slack), handed over to the
 * Telegram chat the work came from: a linked identity answers there.
 */
const crossChannel = defineWorkflow(
  'tg.cross',
  async (ctx) => {
    const ok = await ctx.ask<boolean>({
      to: { channel: 'other', target: 'ops' },
      text: 'Approve the release?',
      expects: { type: 'boolean' },
      responders: ['other:boss'],
      escalation: [{ after: '200ms', action: 'escalate', to: ctx.origin.address! }],
    });
    return { ok };
  },
  { input: chatInput },
);

/** The other channel: records what it was asked to deliver. */
class OtherChannel implements OutboundSender {
  readonly channel = 'other';
  readonly sent: OutboundDelivery[] = [];
  async send(delivery: OutboundDelivery) {
    this.sent.push(delivery);
    return { providerMessageId: `other-${this.sent.length}` };
  }
}

const BOTS = {
  approve: { token: '100000001:TEST_ONLY-approve', workflow: 'tg.approve' },
  count: { token: '100000002:TEST_ONLY-count', workflow: 'tg.count' },
  turns: { token: '100000003:TEST_ONLY-turns', workflow: 'tg.turns' },
  cross: { token: '100000004:TEST_ONLY-cross', workflow: 'tg.cross' },
} as const;
type Bot = keyof typeof BOTS;
const secretOf = (bot: Bot) => `wg_TEST_ONLY-${bot}-secret`;

/**
 * Whole conversations through the real gateway (webhook deliveries with the secret
 * token), the real worker (workflows, outbox, rate limits) and Telegraf's client against
 * a loopback Bot API: inline keyboards, button presses answered with answerCallbackQuery,
 * refusals, re-prompts, "answered by" edits, a 50-turn chat resuming one work, an
 * approval answered from the other channel, and a 429 that is delivered later, once.
 */
describe('Telegram conversations (gateway + worker + outbox + loopback Bot API)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  const other = new OtherChannel();
  let chatSeq = 900_000_000;

  async function deliver(bot: Bot, update: Record<string, any>) {
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(secretOf(bot)),
    );
    expect(res.status).toBe(200);
    return res.json as {
      outcome: string;
      result?: { eventId: string; decision: string; workId: string | null };
    };
  }

  async function say(
    bot: Bot,
    text: string,
    opts: { chatId: number; from?: TelegramUserIdentity; replyTo?: number },
  ) {
    const from = opts.from ?? ALICE;
    const group = opts.chatId < 0;
    const chat = group
      ? { id: opts.chatId, title: 'Ops (fake)', type: 'supergroup' }
      : { id: opts.chatId, first_name: from.first_name, type: 'private' };
    // In a group the bot hears what mentions it (requireMention, the default).
    const said = group && opts.replyTo === undefined ? `@${bot}_bot ${text}` : text;
    const update = api.userMessage(BOTS[bot].token, {
      from,
      chat,
      text: said,
      replyTo: opts.replyTo,
    });
    return (await deliver(bot, update)).result!;
  }

  async function press(
    bot: Bot,
    prompt: StoredTelegramMessage,
    label: string,
    from: TelegramUserIdentity,
  ) {
    const button = (prompt.reply_markup?.inline_keyboard ?? [])
      .flat()
      .find((b: any) => b.text === label);
    if (!button) throw new Error(`no "${label}" button on message ${prompt.message_id}`);
    const update = api.buttonPress(BOTS[bot].token, {
      chatId: prompt.chat.id,
      messageId: prompt.message_id,
      data: button.callback_data,
      from,
    });
    const answer = await deliver(bot, update);
    const callbackAnswer = await until(
      () =>
        api
          .on('answerCallbackQuery')
          .find((c) => c.args.callback_query_id === update.callback_query.id),
      `the press of "${label}" to be answered`,
    );
    return { ...answer, callbackText: callbackAnswer.args.text as string | undefined };
  }

  /** The bot's n-th message (1-based) in a chat, once it is there. */
  const untilBotMessage = (chatId: number, n: number, what: string) =>
    until(() => api.botMessages(chatId)[n - 1], what, 20_000);

  beforeAll(async () => {
    db = await createTestSchema('telegram_conv');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    for (const [bot, { token }] of Object.entries(BOTS))
      api.addBot(token, { username: `${bot}_bot`, first_name: `${bot} bot` });
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        outbound: { retryDelay: '200ms' },
        chat: {
          buttonSecrets: [BUTTON_SECRET],
          identities: { boss: ['other:boss', `telegram:${ALICE.id}`] },
          // The 50-turn chat is a script answering as fast as it can, not a person.
          rateLimit: { messages: 0 },
        },
        telegram: {
          apiRoot: api.url,
          // The conversation, not the Bot API's pacing, is under test here (limits: unit tests).
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: Object.fromEntries(
            Object.entries(BOTS).map(([bot, b]) => [
              bot,
              {
                token: b.token,
                secretToken: secretOf(bot as Bot),
                workflow: b.workflow,
                username: `${bot}_bot`,
                ...(bot === 'count' ? { description: 'I count things for you.' } : {}),
              },
            ]),
          ),
        },
      },
    });
    gw = await startGateway(config);
    // The worker may already deliver Telegram by itself (once the lead wires the sender in).
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [approve, count, turns, crossChannel],
      [other, ...(wired ? [] : [createTelegramSender(config)])],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('an approval with buttons: a refusal for the wrong person, Bob approves, the prompt says who', async () => {
    const opened = await say('approve', 'v1.2', { chatId: GROUP });
    expect(opened).toMatchObject({ decision: 'opened' });
    const prompt = await untilBotMessage(GROUP, 1, 'the approval prompt');
    expect(prompt.text).toBe('Ship v1.2?');
    expect(prompt.reply_markup.inline_keyboard.flat().map((b: any) => b.text)).toEqual([
      'Reject',
      'Approve',
    ]);

    // Alice may not answer: the spinner stops with the refusal, the wait stays open.
    const refused = await press('approve', prompt, 'Approve', ALICE);
    expect(refused.callbackText).toMatch(/only/i);
    expect((await ledger.work(opened.workId!)).state).toBe('WAITING');

    const approved = await press('approve', prompt, 'Approve', BOB);
    expect(approved.result).toMatchObject({ decision: 'resumed', workId: opened.workId });
    expect(approved.callbackText).toBe('Thanks, answered.');
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ ok: true });

    const edited = await until(() => {
      const m = api.messages.get(`${GROUP}/${prompt.message_id}`)!;
      return m.edit_date ? m : null;
    }, 'the prompt to be edited');
    expect(edited.text).toBe('Ship v1.2?\n\n✅ answered by Bob: approved');
    expect(edited.reply_markup).toBeUndefined();
    await until(
      () => api.botMessages(GROUP).find((m) => m.text === 'Shipping.'),
      '"Shipping." in the chat',
    );

    // A second press on the answered question changes nothing; the presser is told.
    const late = await press('approve', prompt, 'Reject', BOB);
    expect(late.callbackText).toBe('This question was already answered.');
    expect((await ledger.work(opened.workId!)).output).toEqual({ ok: true });
  });

  it('a free-text answer that does not fit is re-prompted; a valid reply resumes the work', async () => {
    const chatId = ++chatSeq;
    const opened = await say('count', 'count the servers', { chatId });
    const prompt = await untilBotMessage(chatId, 1, 'the question');
    expect(prompt.text).toBe('How many?');
    expect(prompt.reply_markup).toBeUndefined(); // ForceReply: no inline keyboard

    expect(await say('count', 'a dozen', { chatId, replyTo: prompt.message_id })).toMatchObject({
      decision: 'rejected',
      workId: opened.workId,
    });
    const again = await untilBotMessage(chatId, 2, 'the re-prompt');
    expect(again.text).toMatch(/doesn't fit/);
    expect((await ledger.work(opened.workId!)).state).toBe('WAITING');

    // /status is answered by the gateway, as a reply.
    expect(await say('count', '/status', { chatId })).toMatchObject({ decision: 'command' });
    const status = await untilBotMessage(chatId, 3, 'the /status answer');
    expect(status.text).toContain('tg.count');
    expect(status.reply_to_message).toBeDefined();

    expect(await say('count', '12', { chatId, replyTo: again.message_id })).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ n: '12' });
  });

  it('every bot gets the command menu; /start and /help answer with it, /reset opens a new work', async () => {
    // Set by the gateway at start (not awaited by it): the same list /help answers with.
    for (const { token } of Object.values(BOTS))
      await until(
        () => api.commandsOf(token).length === CHAT_COMMAND_MENU.length,
        'the command menu',
        10_000,
      );
    expect(api.commandsOf(BOTS.count.token)).toEqual(CHAT_COMMAND_MENU);
    const chatId = ++chatSeq;
    expect(await say('count', '/start', { chatId })).toMatchObject({
      decision: 'command',
      workId: null,
    });
    const hello = await untilBotMessage(chatId, 1, 'the /start answer');
    expect(hello.text).toContain('I count things for you.');
    for (const { command } of CHAT_COMMAND_MENU) expect(hello.text).toContain(`/${command}`);
    // A bot without a description greets generically.
    const other = ++chatSeq;
    expect(await say('turns', '/help', { chatId: other })).toMatchObject({ decision: 'command' });
    const help = await untilBotMessage(other, 1, 'the /help answer');
    expect(help.text).toContain(DEFAULT_BOT_DESCRIPTION);
    expect(help.text).toContain('/forget');

    // /reset is /new: a second work while the first still waits for its answer.
    const first = await say('count', 'count the racks', { chatId });
    await untilBotMessage(chatId, 2, 'the question');
    const second = await say('count', '/reset count the disks', { chatId });
    expect(second).toMatchObject({ decision: 'opened' });
    expect(second.workId).not.toBe(first.workId);
  });

  it(`a ${TURNS}-turn chat resumes the same work every time`, async () => {
    const chatId = ++chatSeq;
    const opened = await say('turns', 'let us talk', { chatId });
    const seen = new Set<number>();
    for (let i = 0; i < TURNS; i++) {
      const prompt = await until(
        () =>
          api.botMessages(chatId).find((m) => m.text === `Turn ${i}?` && !seen.has(m.message_id)),
        `turn ${i}'s question`,
        20_000,
      );
      seen.add(prompt.message_id);
      const result = await say('turns', `answer ${i}`, { chatId, replyTo: prompt.message_id });
      expect(result).toMatchObject({ decision: 'resumed', workId: opened.workId });
    }
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 30_000);
    expect(done.output).toEqual({ said: Array.from({ length: TURNS }, (_, i) => `answer ${i}`) });
    const works = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Work" WHERE "conversationKey" = $1`,
      [`telegram:turns:${chatId}`],
    );
    expect(works[0]!.n).toBe(1);
  });

  it('an approval asked on the other channel is answered on Telegram by a linked identity', async () => {
    const chatId = ++chatSeq;
    const opened = await say('cross', 'release 2.0', { chatId });
    await until(
      () => other.sent.find((d) => d.payload.kind === 'ask'),
      'the question on the other channel',
    );
    // Nobody answers there: the ladder hands the question to the Telegram chat.
    const prompt = await untilBotMessage(chatId, 1, 'the question handed over to Telegram');
    expect(prompt.text).toBe('⚠️ Escalated: Approve the release?');
    // Alice is `boss` (chat.identities), the only responder the question names.
    const answer = await press('cross', prompt, 'Approve', ALICE);
    expect(answer.result).toMatchObject({ decision: 'resumed', workId: opened.workId });
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ ok: true });
    // The original prompt (on the other channel) is the one edited to say who answered.
    await until(
      () => other.sent.find((d) => d.payload.kind === 'answered'),
      'the "answered by" edit on the other channel',
    );
  });

  it('a 429 from the Bot API: the message is delivered later, once', async () => {
    const chatId = ++chatSeq;
    api.failNext({ kind: 'flood', retryAfter: 1 }, 1, 'sendMessage');
    await say('count', 'count again', { chatId });
    const prompt = await untilBotMessage(chatId, 1, 'the question, after the flood wait');
    expect(prompt.text).toBe('How many?');
    const sends = api.on('sendMessage').filter((c) => c.args.chat_id === chatId);
    expect(sends.map((c) => c.status)).toEqual([429, 200]);
    // Delivered once: no second copy arrives.
    await until(
      async () =>
        (
          await db.query<any>(`SELECT status FROM "Outbox" WHERE target = $1`, [`count:${chatId}`])
        )[0]?.status === 'sent',
      'the outbox row marked sent',
    );
    expect(api.botMessages(chatId).filter((m) => m.text === 'How many?')).toHaveLength(1);
  });
});
