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
 * button, the answer in the chat; a budget approved from the chat.
 */
describe('assistant over Telegram (gateway + worker + loopback Bot API + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  async function deliver(update: Record<string, any>) {
    const res = await post(
      `${gw.url}/telegram/agent`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  const say = (chatId: number, text: string, replyTo?: number) =>
    deliver(
      api.userMessage(TOKEN, {
        from: ALICE,
        chat: { id: chatId, first_name: ALICE.first_name, type: 'private' },
        text,
        replyTo,
      }),
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
          bots: { agent: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' } },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          prices: PRICES,
          approvers: [`telegram:${BOB.id}`],
          budget: { turns: 3 },
        },
      },
    });
    gw = await startGateway(config);
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [createAssistantWorkflow({ settings: config.agent!, tools: [deployTool] })],
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
    const done = await ledger.untilState(opened.workId!, 'COMPLETED');
    expect(done.output).toMatchObject({ answer: 'Done: v2 is on staging.', spent: { turns: 3 } });
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
});
