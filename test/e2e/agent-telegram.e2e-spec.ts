import { z } from 'zod';
import { createAssistantWorkflow, defineTool } from '@app/agent';
import { createTelegramSender } from '@app/channels/telegram';
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

const TOKEN = '100000009:TEST_ONLY-agent';
const CHATTY = '100000010:TEST_ONLY-agent-chatty';
const SECRET = 'wg_TEST_ONLY-agent-secret';
const PRICES = { 'gpt-test': { input: 3, output: 15 } };

const deployed: Array<{ args: unknown; key: string }> = [];
const deployTool = defineTool({
  name: 'deploy',
  description: 'Deploy a version to an environment',
  parameters: z.object({ version: z.string(), env: z.string() }),
  requiresApproval: true,
  async run(args, step) {
    deployed.push({ args, key: step.idempotencyKey });
    return { deployed: true };
  },
});

/**
 * The assistant in a Telegram chat, end to end: the real gateway (webhook deliveries),
 * the real worker, Telegraf's client against a loopback Bot API and the `openai` SDK
 * against a loopback OpenAI server. Two tool calls (ask_human, deploy), one approval by
 * button, the answer in the chat; a budget approved from the chat; follow-ups in the same
 * chat continuing the same work, and the follow-up window passing.
 */
describe('assistant over Telegram (gateway + worker + loopback Bot API + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  async function deliver(update: Record<string, any>, bot = 'agent') {
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  const say = (chatId: number, text: string, replyTo?: number, bot = 'agent') =>
    deliver(
      api.userMessage(bot === 'agent' ? TOKEN : CHATTY, {
        from: ALICE,
        chat: { id: chatId, first_name: ALICE.first_name, type: 'private' },
        text,
        replyTo,
      }),
      bot,
    );

  async function press(prompt: StoredTelegramMessage, label: string, from: TelegramUserIdentity) {
    const button = (prompt.reply_markup?.inline_keyboard ?? [])
      .flat()
      .find((b: any) => b.text === label);
    if (!button) throw new Error(`no "${label}" button on message ${prompt.message_id}`);
    return deliver(
      api.buttonPress(TOKEN, {
        chatId: prompt.chat.id,
        messageId: prompt.message_id,
        data: button.callback_data,
        from,
      }),
    );
  }

  const botMessage = (chatId: number, n: number, what: string) =>
    until(() => api.botMessages(chatId)[n - 1], what, 20_000);

  beforeAll(async () => {
    db = await createTestSchema('agent_tg');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 'agent_bot', first_name: 'agent bot' });
    api.addBot(CHATTY, { username: 'chatty_bot', first_name: 'chatty bot' }, 600_000_001);
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-telegram-secret-0001'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: {
            agent: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' },
            chatty: { token: CHATTY, secretToken: SECRET, workflow: 'assistant-chat' },
          },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          prices: PRICES,
          approvers: [`telegram:${BOB.id}`],
          budget: { turns: 3 },
          // Short, so these works end soon after their answer.
          followUpWindow: '1s',
        },
      },
    });
    gw = await startGateway(config);
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [
        createAssistantWorkflow({ settings: config.agent!, tools: [deployTool] }),
        // The chatty bot's assistant keeps a conversation open long enough to follow up.
        createAssistantWorkflow({
          name: 'assistant-chat',
          settings: { ...config.agent!, followUpWindow: 10 * 60_000, budget: { turns: 10 } },
        }),
      ],
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

  it('a multi-turn conversation with two tool calls and one approval, answered in the chat', async () => {
    const chatId = 700_000_001;
    openai.enqueue(
      { toolCalls: [{ name: 'ask_human', arguments: { question: 'Which environment?' } }] },
      { toolCalls: [{ name: 'deploy', arguments: { version: 'v2', env: 'staging' } }] },
      { content: 'Done: v2 is on staging.', usage: { prompt: 500, completion: 10 } },
    );
    const opened = await say(chatId, 'please deploy v2');
    expect(opened.decision).toBe('opened');
    const question = await botMessage(chatId, 1, 'the ask_human question');
    expect(question.text).toBe('Which environment?');
    expect(await say(chatId, 'staging', question.message_id)).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });

    const approval = await botMessage(chatId, 2, 'the approval prompt');
    expect(approval.text).toContain('deploy');
    expect(approval.reply_markup.inline_keyboard.flat().map((b: any) => b.text)).toEqual([
      'Reject',
      'Approve',
    ]);
    expect(deployed).toEqual([]);
    expect(await press(approval, 'Approve', ALICE)).toMatchObject({ decision: 'rejected' }); // not an approver
    expect(await press(approval, 'Approve', BOB)).toMatchObject({ decision: 'resumed' });

    const answer = await botMessage(chatId, 3, 'the final answer');
    expect(answer.text).toBe('Done: v2 is on staging.');
    expect(answer.reply_markup).toBeUndefined(); // a plain message, not a reply prompt
    // The answer stays open for a follow-up (followUpWindow, 1s here); nobody wrote,
    // so the window passed and the work completed with that answer.
    const done = await ledger.untilState(opened.workId!, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Done: v2 is on staging.', spent: { turns: 3 } });
    expect((await ledger.waits(opened.workId!)).at(-1)).toMatchObject({
      type: 'human',
      status: 'timed_out',
    });
    expect(api.botMessages(chatId)).toHaveLength(3);
    expect(deployed).toEqual([
      { args: { version: 'v2', env: 'staging' }, key: expect.any(String) },
    ]);
    // The human's answer reached the model as ask_human's result.
    expect(openai.completions[1]!.body.messages.at(-1)).toMatchObject({
      role: 'tool',
      content: JSON.stringify({ answer: 'staging' }),
    });
    const [cost] = await db.query<any>(
      'SELECT count(*)::int AS n, sum("costUsd")::text AS usd FROM "ModelCall" WHERE "workId" = $1',
      [opened.workId],
    );
    expect(cost.n).toBe(3);
    // Two default-usage calls (100 in, 20 out) and one of 500 in, 10 out, at $3 / $15 per 1M.
    expect(Number(cost.usd)).toBeCloseTo((700 * 3 + 50 * 15) / 1e6, 6);
  });

  it('a budget passed asks in the chat; approved by button, the work continues', async () => {
    const chatId = 700_000_002;
    const loop = {
      toolCalls: [{ name: 'send_message', arguments: { to: 'here', text: 'working…' } }],
    };
    openai.requests.length = 0;
    openai.enqueue(loop, loop, loop, { content: 'All finished.' });
    const opened = await say(chatId, 'do a long job');
    const ask = await until(
      () => api.botMessages(chatId).find((m) => m.text?.startsWith('Budget reached')),
      'the budget prompt',
      20_000,
    );
    expect(ask.text).toContain('3 model calls made (limit 3)');
    expect((await ledger.work(opened.workId!)).waitReason).toBe('budget');
    expect(openai.completions).toHaveLength(3);
    expect(await press(ask, 'Approve', BOB)).toMatchObject({ decision: 'resumed' });
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toMatchObject({ answer: 'All finished.', spent: { turns: 4 } });
    await until(
      () => api.botMessages(chatId).find((m) => m.text === 'All finished.'),
      'the answer in the chat',
    );
    expect(api.botMessages(chatId).filter((m) => m.text === 'working…')).toHaveLength(3);
  });

  it('a follow-up in the chat continues the same work, with the whole conversation', async () => {
    const chatId = 700_000_003;
    openai.requests.length = 0;
    openai.enqueue(
      { content: 'v1 is on staging.' },
      { content: 'v0.9 is on production.' },
      { content: 'You asked about staging and production.' },
    );
    const opened = await say(chatId, 'what is on staging?', undefined, 'chatty');
    expect(opened.decision).toBe('opened');
    const first = await botMessage(chatId, 1, 'the first answer');
    expect(first.text).toBe('v1 is on staging.');
    await ledger.untilState(opened.workId!, 'WAITING');

    // A plain next message in the chat (no reply) resumes the open conversation.
    expect(await say(chatId, 'and on production?', undefined, 'chatty')).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    const second = await botMessage(chatId, 2, 'the answer to the follow-up');
    expect(second.text).toBe('v0.9 is on production.');
    expect(openai.completions[1]!.body.messages).toEqual([
      { role: 'system', content: 'You are the test assistant.' },
      { role: 'user', content: 'what is on staging?' },
      { role: 'assistant', content: 'v1 is on staging.' },
      { role: 'user', content: 'and on production?' },
    ]);

    // A reply to the bot's answer names the work too.
    await ledger.untilState(opened.workId!, 'WAITING');
    expect(await say(chatId, 'what did I ask?', second.message_id, 'chatty')).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    await botMessage(chatId, 3, 'the third answer');
    expect(openai.completions[2]!.body.messages.map((m: any) => m.content)).toEqual([
      'You are the test assistant.',
      'what is on staging?',
      'v1 is on staging.',
      'and on production?',
      'v0.9 is on production.',
      'what did I ask?',
    ]);

    // One work, one budget: every call is on its ModelCall rows; the answers were sent
    // as they were (no "answered by" edits), and the conversation is open again.
    const [calls] = await db.query<any>(
      'SELECT count(*)::int AS n FROM "ModelCall" WHERE "workId" = $1',
      [opened.workId],
    );
    expect(calls.n).toBe(3);
    const [edits] = await db.query<any>(
      `SELECT count(*)::int AS n FROM "Outbox" WHERE "workId" = $1 AND payload->>'kind' = 'answered'`,
      [opened.workId],
    );
    expect(edits.n).toBe(0);
    await ledger.untilState(opened.workId!, 'WAITING');
    expect((await ledger.waits(opened.workId!)).map((w) => [w.type, w.status])).toEqual([
      ['human', 'satisfied'],
      ['human', 'satisfied'],
      ['human', 'open'],
    ]);
  });

  it('a message sent while the model is answering is taken up right after that answer', async () => {
    const chatId = 700_000_004;
    openai.requests.length = 0;
    let think!: () => void;
    const thinking = new Promise<void>((resolve) => (think = resolve));
    openai.enqueue(
      { content: 'Staging has v1.', gate: thinking },
      { content: 'Production has v0.9.' },
    );
    const opened = await say(chatId, 'what is on staging?', undefined, 'chatty');
    await until(
      async () =>
        (await ledger.steps(opened.workId!)).find(
          (s) => s.type === 'llm' && s.status === 'running',
        ),
      'the model call to be under way',
    );
    // The work is busy: the message goes to its inbox (the bot's busy policy).
    expect(await say(chatId, 'and production?', undefined, 'chatty')).toMatchObject({
      decision: 'inbox',
      workId: opened.workId,
    });
    think();
    expect((await botMessage(chatId, 1, 'the first answer')).text).toBe('Staging has v1.');
    expect((await botMessage(chatId, 2, 'the answer to the waiting message')).text).toBe(
      'Production has v0.9.',
    );
    expect(openai.completions[1]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'what is on staging?' },
      { role: 'assistant', content: 'Staging has v1.' },
      { role: 'user', content: 'and production?' },
    ]);
    await ledger.untilState(opened.workId!, 'WAITING');
  });

  it('/new ends the open conversation (its work completes) and starts a fresh one', async () => {
    const chatId = 700_000_005;
    openai.requests.length = 0;
    openai.enqueue({ content: 'Staging has v1.' }, { content: 'Hello again, from scratch.' });
    const first = await say(chatId, 'what is on staging?', undefined, 'chatty');
    await botMessage(chatId, 1, 'the first answer');
    await ledger.untilState(first.workId!, 'WAITING');

    const fresh = await say(chatId, '/new hello', undefined, 'chatty');
    expect(fresh.decision).toBe('opened');
    expect(fresh.workId).not.toBe(first.workId);
    const done = await ledger.untilState(first.workId!, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Staging has v1.' });
    expect((await botMessage(chatId, 2, 'the fresh answer')).text).toBe(
      'Hello again, from scratch.',
    );
    // The fresh work starts its own conversation: none of the old one is sent.
    expect(openai.completions[1]!.body.messages.map((m: any) => m.content)).not.toContain(
      'what is on staging?',
    );
    // Plain messages now go to the fresh conversation only.
    await ledger.untilState(fresh.workId!, 'WAITING');
    openai.enqueue({ content: 'Still here.' });
    expect(await say(chatId, 'you there?', undefined, 'chatty')).toMatchObject({
      decision: 'resumed',
      workId: fresh.workId,
    });
  });
});
