import { z } from 'zod';
import { createAssistantWorkflow } from '@app/agent';
import { createTelegramSender } from '@app/channels/telegram';
import { defineWorkflow } from '@app/engine';
import { outboundSenders } from '../../apps/worker/src/worker.module';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
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

const SECRET = 'wg_TEST_ONLY-groups-secret';
const GROUP = -100700800900;
const AGENT_GROUP = -100700800901;
const OPS = -100700800902;
const RATE_LIMIT_REPLY = 'Easy there — give me a minute.';

const chatInput = z.object({ text: z.string() }).passthrough();

/** A yes/no question to whoever asked. */
const approve = defineWorkflow(
  'grp.approve',
  async (ctx, input) => ({
    ok: await ctx.ask<boolean>({ text: `Ship ${input.text}?`, expects: { type: 'boolean' } }),
  }),
  { input: chatInput },
);

/** Reminds in its own words, then takes `false` when nobody answers. */
const remind = defineWorkflow(
  'grp.remind',
  async (ctx, input) => ({
    ok: await ctx.ask<boolean>({
      text: `Release ${input.text}?`,
      expects: { type: 'boolean' },
      escalation: [
        { after: '300ms', action: 'remind', text: 'Still waiting for you.' },
        // Late enough that the reminder has been delivered (and can lose its buttons too).
        { after: '3s', action: 'default', value: false },
      ],
    }),
  }),
  { input: chatInput },
);

/** Hands the question to the ops group, in words of its own. */
const escalate = defineWorkflow(
  'grp.escalate',
  async (ctx, input) => ({
    ok: await ctx.ask<boolean>({
      text: `Open the gate for ${input.text}?`,
      expects: { type: 'boolean' },
      escalation: [
        {
          after: '300ms',
          action: 'escalate',
          to: { channel: 'telegram', target: `escalate:${OPS}` },
          text: `Nobody answered: open the gate for ${input.text}?`,
        },
      ],
    }),
  }),
  { input: chatInput },
);

/** Names itself, then asks which version. */
const titled = defineWorkflow(
  'grp.titled',
  async (ctx, input) => {
    await ctx.setTitle(`Deploy ${input.text}`);
    return {
      version: await ctx.ask<string>({ text: 'Which version?', expects: { type: 'string' } }),
    };
  },
  { input: chatInput },
);

const BOTS = {
  grp: { token: '100000021:TEST_ONLY-grp', workflow: 'grp.approve' },
  open: { token: '100000022:TEST_ONLY-open', workflow: 'grp.approve', requireMention: false },
  remind: { token: '100000023:TEST_ONLY-remind', workflow: 'grp.remind' },
  escalate: { token: '100000024:TEST_ONLY-escalate', workflow: 'grp.escalate' },
  titled: { token: '100000025:TEST_ONLY-titled', workflow: 'grp.titled' },
  quiet: { token: '100000026:TEST_ONLY-quiet' },
  agent: { token: '100000027:TEST_ONLY-agent', workflow: 'assistant' },
} as const;
type Bot = keyof typeof BOTS;

/**
 * Groups and answers people give naturally, end to end: the real gateway (webhook
 * deliveries), the real worker and outbox, Telegraf's client against a loopback Bot API
 * (and the `openai` SDK against a loopback OpenAI for the assistant's turns).
 */
describe('Telegram groups and natural answers (gateway + worker + loopback Bot API)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  let chatSeq = 910_000_000;

  async function deliver(bot: Bot, update: Record<string, any>) {
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json as {
      outcome: string;
      result?: { eventId: string; decision: string; workId: string | null };
    };
  }

  function say(
    bot: Bot,
    text: string,
    opts: { chatId: number; from?: TelegramUserIdentity; replyTo?: number },
  ) {
    const from = opts.from ?? ALICE;
    const chat =
      opts.chatId < 0
        ? { id: opts.chatId, title: 'Team (fake)', type: 'supergroup' }
        : { id: opts.chatId, first_name: from.first_name, type: 'private' };
    return deliver(bot, api.userMessage(BOTS[bot].token, { from, chat, text, ...opts }));
  }

  async function press(bot: Bot, prompt: StoredTelegramMessage, label: string, from = ALICE) {
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
    return (await deliver(bot, update)).result!;
  }

  const labels = (m: StoredTelegramMessage) =>
    (m.reply_markup?.inline_keyboard ?? []).flat().map((b: any) => b.text);
  const botMessage = (chatId: number, find: (m: StoredTelegramMessage) => boolean, what: string) =>
    until(() => api.botMessages(chatId).find(find), what, 20_000);
  /** A bot message once it has been edited (its buttons removed), as it reads now. */
  const edited = (m: StoredTelegramMessage, what: string) =>
    until(
      () => {
        const now = api.messages.get(`${m.chat.id}/${m.message_id}`)!;
        return now.edit_date ? now : null;
      },
      what,
      20_000,
    );

  beforeAll(async () => {
    db = await createTestSchema('telegram_groups');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    for (const [bot, { token }] of Object.entries(BOTS))
      api.addBot(token, { username: `${bot}_bot`, first_name: `${bot} bot` });
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: {
          buttonSecrets: ['e2e-telegram-groups-secret-0001'],
          rateLimit: { messages: 4, window: '10m', reply: RATE_LIMIT_REPLY },
        },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: Object.fromEntries(
            Object.entries(BOTS).map(([bot, b]) => [
              bot,
              { ...b, secretToken: SECRET, username: `${bot}_bot` },
            ]),
          ),
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          followUpWindow: '1s',
        },
      },
    });
    gw = await startGateway(config);
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [approve, remind, escalate, titled, createAssistantWorkflow({ settings: config.agent! })],
      wired ? [] : [createTelegramSender(config)],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('in a group: only what addresses the bot is heard, and each person has their own conversation', async () => {
    expect(await say('grp', 'lunch at noon?', { chatId: GROUP })).toMatchObject({
      outcome: 'ignored',
    });

    const alice = (await say('grp', '@grp_bot web', { chatId: GROUP })).result!;
    expect(alice).toMatchObject({ decision: 'opened' });
    const bob = (await say('grp', '@grp_bot api', { chatId: GROUP, from: BOB })).result!;
    expect(bob).toMatchObject({ decision: 'opened' });
    expect(bob.workId).not.toBe(alice.workId);
    expect((await ledger.work(alice.workId!)).conversationKey).toBe(
      `telegram:grp:${GROUP}/u${ALICE.id}`,
    );
    const askedAlice = await botMessage(GROUP, (m) => m.text === 'Ship web?', "Alice's question");
    await botMessage(GROUP, (m) => m.text === 'Ship api?', "Bob's question");

    // Bob's "no" (a mention, no reply) can only be for the question in his own conversation.
    expect(await say('grp', '@grp_bot no', { chatId: GROUP, from: BOB })).toMatchObject({
      result: { decision: 'resumed', workId: bob.workId },
    });
    // Alice types her answer as a reply to her question: heard, and it names the work.
    const replied = await say('grp', 'Yes', { chatId: GROUP, replyTo: askedAlice.message_id });
    expect(replied.result).toMatchObject({ decision: 'resumed', workId: alice.workId });

    expect((await ledger.untilState(alice.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: true,
    });
    expect((await ledger.untilState(bob.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: false,
    });
    const answered = await edited(askedAlice, "Alice's question to say who answered");
    expect(answered.text).toBe('Ship web?\n\n✅ answered by Alice Example: approved');
    expect(answered.reply_markup).toBeUndefined();
  });

  it('requireMention: false hears every group message', async () => {
    const heard = await say('open', 'db', { chatId: GROUP });
    expect(heard.result).toMatchObject({ decision: 'opened' });
  });

  it('typed y/n and button labels answer a yes/no question; other words are asked again', async () => {
    const chatId = ++chatSeq;
    const opened = (await say('grp', 'cli', { chatId })).result!;
    await botMessage(chatId, (m) => m.text === 'Ship cli?', 'the question');
    expect((await say('grp', 'maybe', { chatId })).result).toMatchObject({
      decision: 'rejected',
    });
    await botMessage(chatId, (m) => /doesn't fit/.test(m.text ?? ''), 'the re-prompt');
    expect((await say('grp', 'N', { chatId })).result).toMatchObject({ decision: 'resumed' });
    expect((await ledger.untilState(opened.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: false,
    });

    const other = ++chatSeq;
    const second = (await say('grp', 'docs', { chatId: other })).result!;
    await botMessage(other, (m) => m.text === 'Ship docs?', 'the second question');
    expect((await say('grp', 'approve', { chatId: other })).result).toMatchObject({
      decision: 'resumed',
    });
    expect((await ledger.untilState(second.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: true,
    });
  });

  it('a reminder in the workflow’s words, then the expired question and its reminder lose their buttons', async () => {
    const chatId = ++chatSeq;
    const opened = (await say('remind', 'v3', { chatId })).result!;
    const prompt = await botMessage(chatId, (m) => m.text === 'Release v3?', 'the question');
    const reminder = await botMessage(
      chatId,
      (m) => m.text === '⏰ Reminder: Still waiting for you.',
      'the reminder',
    );
    expect(labels(reminder)).toEqual(['Reject', 'Approve']);
    expect((await ledger.untilState(opened.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: false,
    });
    for (const [m, text] of [
      [prompt, 'Release v3?'],
      [reminder, 'Still waiting for you.'],
    ] as const) {
      const now = await edited(m, `message ${m.message_id} to expire`);
      expect(now.text).toBe(`${text}\n\n⌛ Expired: no answer in time.`);
      expect(now.reply_markup).toBeUndefined();
    }
  });

  it('an escalation hands the question over: the old prompt loses its buttons, the new one is answered', async () => {
    const chatId = ++chatSeq;
    const opened = (await say('escalate', 'v4', { chatId })).result!;
    const prompt = await botMessage(chatId, (m) => m.text === 'Open the gate for v4?', 'prompt');
    const handedOver = await edited(prompt, 'the prompt to be handed over');
    expect(handedOver.text).toBe(
      'Open the gate for v4?\n\n⚠️ Handed over: this question is answered elsewhere now.',
    );
    expect(handedOver.reply_markup).toBeUndefined();
    const there = await botMessage(
      OPS,
      (m) => m.text === '⚠️ Escalated: Nobody answered: open the gate for v4?',
      'the question in the ops group',
    );
    expect(await press('escalate', there, 'Approve', BOB)).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    expect((await ledger.untilState(opened.workId!, 'COMPLETED', 20_000)).output).toEqual({
      ok: true,
    });
  });

  it('"which one did you mean?" names each work by its title', async () => {
    const chatId = ++chatSeq;
    const web = (await say('titled', 'web', { chatId })).result!;
    await until(async () => (await ledger.work(web.workId!)).state === 'WAITING', 'web waits');
    const apiWork = (await say('titled', '/new api', { chatId })).result!;
    await until(async () => (await ledger.work(apiWork.workId!)).state === 'WAITING', 'api waits');
    expect((await ledger.work(web.workId!)).title).toBe('Deploy web');

    expect((await say('titled', '2.1', { chatId })).result).toMatchObject({ decision: 'asked' });
    const which = await botMessage(
      chatId,
      (m) => /Which one did you mean/.test(m.text ?? ''),
      'the pick question',
    );
    expect(labels(which)).toEqual(['Deploy web · waiting', 'Deploy api · waiting']);
    expect(await press('titled', which, 'Deploy api · waiting')).toMatchObject({
      workId: apiWork.workId,
    });
    expect((await ledger.untilState(apiWork.workId!, 'COMPLETED', 20_000)).output).toEqual({
      version: '2.1',
    });
    // /status names what is still running the same way.
    await say('titled', '/status', { chatId });
    const status = await botMessage(chatId, (m) => /^• /.test(m.text ?? ''), 'the /status answer');
    expect(status.text).toMatch(/^• Deploy web \([0-9a-f]{6}\) — waiting/);
  });

  it('a flood is cut off politely, once; commands still work', async () => {
    const chatId = ++chatSeq;
    const reasonOf = async (eventId: string) =>
      (
        await db.query<{ reason: string }>('SELECT reason FROM "InboundEvent" WHERE id = $1', [
          eventId,
        ])
      )[0]!.reason;
    for (let i = 1; i <= 4; i++) {
      const taken = (await say('quiet', `m${i}`, { chatId })).result!;
      expect(await reasonOf(taken.eventId)).not.toMatch(/rate limited/);
    }
    const fifth = (await say('quiet', 'm5', { chatId })).result!;
    expect(fifth).toMatchObject({ decision: 'dropped' });
    expect(await reasonOf(fifth.eventId)).toMatch(/^rate limited/);
    await botMessage(chatId, (m) => m.text === RATE_LIMIT_REPLY, 'the polite reply');
    const sixth = (await say('quiet', 'm6', { chatId })).result!;
    expect(await reasonOf(sixth.eventId)).toMatch(/^rate limited/);
    const replies = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Outbox" WHERE "idempotencyKey" LIKE 'reply:%' AND target = $1`,
      [`quiet:${chatId}`],
    );
    expect(replies[0]!.n).toBe(1);
    expect((await say('quiet', '/status', { chatId })).result).toMatchObject({
      decision: 'command',
    });
  });

  it("the assistant's turns in a group carry the sender's name", async () => {
    openai.enqueue({ content: 'Hi Alice.' });
    const alice = (await say('agent', '@agent_bot what is up?', { chatId: AGENT_GROUP })).result!;
    await ledger.untilState(alice.workId!, 'COMPLETED', 20_000);
    openai.enqueue({ content: 'Hi Bob.' });
    const bob = (await say('agent', 'hello @agent_bot', { chatId: AGENT_GROUP, from: BOB }))
      .result!;
    expect(bob.workId).not.toBe(alice.workId);
    await ledger.untilState(bob.workId!, 'COMPLETED', 20_000);
    const userTurns = openai.completions.map((r) =>
      (r.body.messages as Array<{ role: string; content: unknown }>)
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    );
    expect(userTurns).toEqual([['Alice Example: what is up?'], ['Bob: hello']]);
  });
});
