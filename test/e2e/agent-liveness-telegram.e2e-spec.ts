import { createAssistantWorkflow } from '@app/agent';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const BOTS = {
  streamer: { token: '100000021:TEST_ONLY-live-stream', liveness: 'stream' },
  typer: { token: '100000022:TEST_ONLY-live-typing', liveness: 'typing' },
  quiet: { token: '100000023:TEST_ONLY-live-off', liveness: 'off' },
  responder: { token: '100000024:TEST_ONLY-live-responses', liveness: 'stream' },
} as const;
const SECRET = 'wg_TEST_ONLY-live-secret';

/** A promise the test settles when it has seen what it waits for. */
function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Liveness on Telegram, end to end: the real gateway and worker, Telegraf's client
 * against the loopback Bot API, the `openai` SDK streaming from the loopback OpenAI
 * server. Typing while a slow model thinks, drafts of the answer in a private chat and
 * an edited-then-deleted preview in a group before the answer, the answer sent exactly
 * once as the outbox's message, and `typing` / `off` bots showing less.
 */
describe('liveness on Telegram (gateway + worker + loopback Bot API + streaming OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  async function say(bot: keyof typeof BOTS, chat: Record<string, any>, text: string) {
    const update = api.userMessage(BOTS[bot].token, { from: ALICE, chat, text });
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  const privateChat = (id: number) => ({ id, first_name: ALICE.first_name, type: 'private' });
  const chatCalls = (method: string, chatId: number) =>
    api.on(method).filter((c) => Number(c.args.chat_id) === chatId && c.status === 200);
  /** Position of a call in everything the Bot API received: the order the chat saw. */
  const position = (call: object) => api.calls.indexOf(call as never);

  beforeAll(async () => {
    db = await createTestSchema('agent_live_tg');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    for (const [name, bot] of Object.entries(BOTS))
      api.addBot(bot.token, { username: `${name}_bot`, first_name: name });
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-live-telegram-secret'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: Object.fromEntries(
            Object.entries(BOTS).map(([name, bot]) => [
              name,
              {
                token: bot.token,
                secretToken: SECRET,
                workflow: name === 'responder' ? 'assistant-responses' : 'assistant',
                liveness: bot.liveness,
                // Liveness is what is tested: every group message is for the bot.
                requireMention: false,
              },
            ]),
          ),
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          followUpWindow: 0,
        },
      },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [
      createAssistantWorkflow({ settings: config.agent! }),
      createAssistantWorkflow({
        name: 'assistant-responses',
        settings: { ...config.agent!, api: 'responses' },
      }),
    ]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('private chat: typing while the model thinks, drafts as it writes, then the answer once', async () => {
    const chatId = 710_000_001;
    const thinking = latch();
    const writing = latch();
    const answer = 'The answer is forty-two, as computed by the deep thought.';
    openai.enqueue({
      content: answer,
      gate: thinking.opened,
      pieces: ['The answer ', 'is forty-two, ', 'as computed by the deep thought.'],
      stall: { afterPieces: 1, until: writing.opened },
    });
    const opened = await say('streamer', privateChat(chatId), 'what is the answer?');
    expect(opened.decision).toBe('opened');

    await until(() => chatCalls('sendChatAction', chatId).length > 0, 'typing while it thinks');
    expect(chatCalls('sendChatAction', chatId)[0]!.args.action).toBe('typing');
    thinking.open();
    const first = await until(
      () => api.drafts.find((d) => d.chatId === chatId),
      'a draft of the answer',
    );
    expect(first.text).toBe('The answer ');
    expect(api.botMessages(chatId)).toEqual([]); // a draft is not a message
    writing.open();

    const sent = await until(() => api.botMessages(chatId)[0], 'the answer', 20_000);
    expect(sent.text).toBe(answer);
    await ledger.untilState(opened.workId!, 'COMPLETED');
    expect(api.botMessages(chatId)).toHaveLength(1);
    expect(chatCalls('sendMessage', chatId)).toHaveLength(1);
    // Every draft was a beginning of the answer, under one draft id, before the message.
    const drafts = chatCalls('sendMessageDraft', chatId);
    expect(new Set(drafts.map((d) => d.args.draft_id)).size).toBe(1);
    for (const d of drafts) expect(answer.startsWith(String(d.args.text))).toBe(true);
    expect(position(drafts[0]!)).toBeLessThan(position(chatCalls('sendMessage', chatId)[0]!));
    // The model was asked to stream, and the record is the whole answer.
    expect(openai.completions.at(-1)!.body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    const work = await ledger.work(opened.workId!);
    expect(work.output).toMatchObject({ answer });
  });

  it('group: a silent preview message, edited as the answer grows, deleted; the answer once', async () => {
    const chatId = -100_710_000_002;
    const group = { id: chatId, title: 'Ops', type: 'supergroup' };
    const growing = latch();
    const writing = latch();
    const answer = 'Deploys are green; nothing to do today.';
    openai.enqueue({
      content: answer,
      pieces: ['Deploys ', 'are green; ', 'nothing to do today.'],
      stall: [
        { afterPieces: 1, until: growing.opened },
        { afterPieces: 2, until: writing.opened },
      ],
    });
    const opened = await say('streamer', group, 'status of deploys?');
    const preview = await until(
      () => api.botMessages(chatId)[0],
      'the preview message in the group',
    );
    expect(preview.text).toBe('Deploys ');
    expect(chatCalls('sendMessage', chatId)[0]!.args.disable_notification).toBe(true);
    growing.open();
    // Edits in a group are paced (one per 3 s at most): the next one comes when it may.
    await until(
      () => api.botMessages(chatId)[0]?.text === 'Deploys are green; ',
      'the preview edited with more of the answer',
      10_000,
    );
    expect(chatCalls('editMessageText', chatId)[0]!.args.message_id).toBe(preview.message_id);
    writing.open();

    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    const [final] = await until(
      () => {
        const left = api.botMessages(chatId);
        return left.length === 1 && left[0]!.message_id !== preview.message_id ? left : null;
      },
      'only the answer left in the group (the preview deleted)',
      20_000,
    );
    expect(final!.text).toBe(answer);
    expect(api.deleted.map((m) => m.message_id)).toContain(preview.message_id);
    // Two sendMessage calls: the preview and the outbox's answer, which was sent once.
    const sends = chatCalls('sendMessage', chatId);
    expect(sends).toHaveLength(2);
    expect(sends.filter((c) => c.args.text === answer)).toHaveLength(1);
    expect(chatCalls('sendMessageDraft', chatId)).toEqual([]);
  });

  it('a `typing` bot shows typing and no drafts; an `off` bot shows nothing', async () => {
    const typed = 710_000_003;
    const quiet = 710_000_004;
    openai.answerBy = (body) =>
      body.messages?.at(-1)?.content === 'slow one'
        ? { content: 'Slow answer.' }
        : body.messages?.at(-1)?.content === 'quiet one'
          ? { content: 'Quiet answer.' }
          : undefined;
    try {
      const a = await say('typer', privateChat(typed), 'slow one');
      const b = await say('quiet', privateChat(quiet), 'quiet one');
      await ledger.untilState(a.workId!, 'COMPLETED', 20_000);
      await ledger.untilState(b.workId!, 'COMPLETED', 20_000);
      await until(() => api.botMessages(typed)[0] && api.botMessages(quiet)[0], 'both answers');
    } finally {
      openai.answerBy = undefined;
    }
    expect(api.botMessages(typed).map((m) => m.text)).toEqual(['Slow answer.']);
    expect(api.botMessages(quiet).map((m) => m.text)).toEqual(['Quiet answer.']);
    expect(chatCalls('sendChatAction', typed).length).toBeGreaterThan(0);
    expect(chatCalls('sendMessageDraft', typed)).toEqual([]);
    expect(chatCalls('sendChatAction', quiet)).toEqual([]);
    expect(chatCalls('sendMessageDraft', quiet)).toEqual([]);
    // Without a preview to show, the model is not asked to stream.
    const quietCall = openai.completions.find(
      (c) => c.body.messages.at(-1).content === 'quiet one',
    );
    expect(quietCall!.body.stream).toBeUndefined();
  });

  it('the Responses API streams its output text into the draft too', async () => {
    const chatId = 710_000_005;
    const writing = latch();
    const answer = 'Responses stream as typed events.';
    openai.enqueue({
      content: answer,
      pieces: ['Responses ', 'stream as typed events.'],
      stall: { afterPieces: 1, until: writing.opened },
    });
    const opened = await say('responder', privateChat(chatId), 'how do responses stream?');
    const draft = await until(
      () => api.drafts.find((d) => d.chatId === chatId),
      'a draft from the Responses stream',
    );
    expect(draft.text).toBe('Responses ');
    writing.open();
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    const sent = await until(() => api.botMessages(chatId)[0], 'the answer');
    expect(sent.text).toBe(answer);
    expect(chatCalls('sendMessage', chatId)).toHaveLength(1);
    const request = openai.completions.at(-1)!;
    expect(request.path).toBe('/v1/responses');
    expect(request.body.stream).toBe(true);
    expect((await ledger.work(opened.workId!)).output).toMatchObject({ answer });
  });
});
