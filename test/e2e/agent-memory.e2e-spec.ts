import { createAssistantWorkflow } from '@app/agent';
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
  TelegramApiServer,
  type TelegramUserIdentity,
  telegramWebhookHeaders,
} from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const AGENT = '100000031:TEST_ONLY-memory-agent';
const BRIEF = '100000032:TEST_ONLY-memory-brief';
const SECRET = 'wg_TEST_ONLY-memory-secret';
const OPERATOR = 'wg_TEST_ONLY-memory-operator-token';

/** The summarizer's request: its system prompt says what it is. */
const isMemoryRequest = (body: any) =>
  typeof body?.messages?.[0]?.content === 'string' &&
  body.messages[0].content.startsWith('You keep the long-term memory');

/**
 * Per-person memory end to end: the real gateway and worker, Telegraf against a
 * loopback Bot API, the `openai` SDK against a loopback OpenAI server. A conversation's
 * end (its follow-up window passing, or /new) has the model merge it into the person's
 * memory (a recorded `memory` llm step), the next conversation's system prompt carries
 * it, and the person (/memory, /forget) and operators (/api/v1/memories) see and erase it.
 */
describe('assistant memory over Telegram (gateway + worker + loopback Bot API + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  /** What the summarizer answers next. */
  let nextSummary = 'nothing';

  async function say(
    bot: 'agent' | 'brief',
    chatId: number,
    text: string,
    from: TelegramUserIdentity = ALICE,
  ) {
    const update = api.userMessage(bot === 'agent' ? AGENT : BRIEF, {
      from,
      chat: { id: chatId, first_name: from.first_name, type: 'private' },
      text,
    });
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  const botMessage = (chatId: number, n: number, what: string) =>
    until(() => api.botMessages(chatId)[n - 1], what, 20_000);

  const memoryOf = async (person: string) =>
    (await db.query<any>('SELECT * FROM "PersonMemory" WHERE person = $1', [person]))[0];

  /** The model request a conversation opened with: the one whose first user turn is `text`. */
  const opening = (text: string) =>
    until(
      () =>
        openai.completions.find(
          (r) => !isMemoryRequest(r.body) && r.body.messages?.[1]?.content === text,
        ),
      `the model request opening with "${text}"`,
    );

  const apiCall = async (method: string, path: string) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${OPERATOR}` },
    });
    return { status: res.status, type: res.headers.get('content-type'), json: await res.json() };
  };

  beforeAll(async () => {
    db = await createTestSchema('agent_memory');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    api.addBot(AGENT, { username: 'memory_bot', first_name: 'memory bot' });
    api.addBot(BRIEF, { username: 'brief_bot', first_name: 'brief bot' }, 600_000_031);
    openai = await new OpenAiApiServer().start();
    openai.answerBy = (body) => (isMemoryRequest(body) ? { content: nextSummary } : undefined);
    const config = testConfig({
      schema: db.schema,
      prefix,
      env: { WORKGATE_API_TOKEN: OPERATOR },
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-memory-secret-000001'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: {
            agent: { token: AGENT, secretToken: SECRET, workflow: 'assistant' },
            brief: { token: BRIEF, secretToken: SECRET, workflow: 'assistant' },
          },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          followUpWindow: '10m',
          memory: { enabled: true, maxLength: 200 },
          // The brief bot's conversations end a second after each answer.
          profiles: { brief: { system: 'You are brief.', followUpWindow: '1s' } },
          profileRoutes: [{ channel: 'telegram', source: 'brief', profile: 'brief' }],
        },
      },
    });
    gw = await startGateway(config);
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [createAssistantWorkflow({ settings: config.agent! })],
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

  const alice = `telegram:brief:${ALICE.id}`;

  it('is written when the follow-up window closes, and read at the start of the next conversation', async () => {
    const chatId = 700_100_001;
    nextSummary = 'Name: Alice. Likes green tea.';
    openai.enqueue({ content: 'Nice to meet you, Alice.' });
    const first = await say('brief', chatId, 'I am Alice and I like green tea');
    await ledger.untilState(first.workId!, 'COMPLETED', 20_000);
    const stored = await memoryOf(alice);
    expect(stored).toMatchObject({
      channel: 'telegram',
      source: 'brief',
      summary: 'Name: Alice. Likes green tea.',
      version: 1,
      workId: first.workId,
      forgottenAt: null,
    });
    // The summary is a recorded model call of its own, after the conversation.
    const steps = (await ledger.steps(first.workId!)).map((s) => `${s.type}:${s.name}`);
    expect(steps[0]).toBe('task:memory:recall');
    expect(steps.slice(-3)).toEqual(['task:memory:latest', 'llm:memory', 'task:memory:write']);
    const summarizer = openai.completions.find((r) => isMemoryRequest(r.body))!;
    expect(summarizer.body.model).toBe('gpt-test');
    expect(summarizer.body.messages[1].content).toContain('(nothing yet)');
    expect(summarizer.body.messages[1].content).toContain(
      'Person: I am Alice and I like green tea\nAssistant: Nice to meet you, Alice.',
    );
    const [calls] = await db.query<any>(
      'SELECT count(*)::int AS n FROM "ModelCall" WHERE "workId" = $1',
      [first.workId],
    );
    expect(calls.n).toBe(2);

    // The next conversation: the model sees the memory in its system prompt.
    nextSummary = 'Name: Alice. Likes green tea. Said hello twice.';
    openai.enqueue({ content: 'Hello again, Alice.' });
    const second = await say('brief', chatId, 'hello');
    expect(second.workId).not.toBe(first.workId);
    const request = await opening('hello');
    expect(request.body.messages[0].content).toBe(
      'You are brief.\n\nWhat you remember about this person from earlier conversations (they can see it with /memory and erase it with /forget):\nName: Alice. Likes green tea.',
    );
    await ledger.untilState(second.workId!, 'COMPLETED', 20_000);
    expect(await memoryOf(alice)).toMatchObject({
      summary: 'Name: Alice. Likes green tea. Said hello twice.',
      version: 2,
    });
  });
});
