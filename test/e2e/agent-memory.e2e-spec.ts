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
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      json: (await res.json()) as any,
    };
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

  it('survives /new: the conversation /new ends writes it, and a later one reads it', async () => {
    const chatId = 700_100_002;
    const bob = `telegram:agent:${BOB.id}`;
    nextSummary = 'Bob deploys on Fridays.';
    openai.enqueue({ content: 'Noted.' });
    const first = await say('agent', chatId, 'I deploy on Fridays', BOB);
    await botMessage(chatId, 1, 'the first answer');
    await ledger.untilState(first.workId!, 'WAITING');
    expect(await memoryOf(bob)).toBeUndefined(); // the conversation is still open

    openai.enqueue({ content: 'Fresh start.' });
    const fresh = await say('agent', chatId, '/new something else', BOB);
    expect(fresh.decision).toBe('opened');
    await ledger.untilState(first.workId!, 'COMPLETED', 20_000);
    await until(
      async () => (await memoryOf(bob))?.summary === 'Bob deploys on Fridays.',
      "the first conversation's summary",
    );
    // The fresh conversation was opened by the same /new, so it may have begun before
    // that summary landed; the one after it starts with it.
    await botMessage(chatId, 2, 'the fresh answer');
    await ledger.untilState(fresh.workId!, 'WAITING');
    nextSummary = 'Bob deploys on Fridays. Asked when he deploys.';
    openai.enqueue({ content: 'On Fridays.' });
    const third = await say('agent', chatId, '/new when do I deploy?', BOB);
    const request = await opening('when do I deploy?');
    expect(request.body.messages[0].content).toContain('Bob deploys on Fridays.');
    await ledger.untilState(fresh.workId!, 'COMPLETED', 20_000);
    await botMessage(chatId, 3, 'the third answer');
    expect(third.workId).not.toBe(fresh.workId);
  });

  it('/memory shows it in a private chat; /forget erases it, and the next conversation starts without it', async () => {
    const chatId = 700_100_001;
    const before = api.botMessages(chatId).length;
    expect(await say('brief', chatId, '/memory')).toMatchObject({ decision: 'command' });
    const shown = await botMessage(chatId, before + 1, 'the /memory answer');
    expect(shown.text).toBe(
      'What I remember about you:\n\nName: Alice. Likes green tea. Said hello twice.\n\nSend /forget to erase it.',
    );

    expect(await say('brief', chatId, '/forget')).toMatchObject({ decision: 'command' });
    expect((await botMessage(chatId, before + 2, 'the /forget answer')).text).toBe(
      "Done: I've forgotten what I remembered about you.",
    );
    expect(await memoryOf(alice)).toMatchObject({ summary: null, forgottenAt: expect.any(Date) });
    expect(await say('brief', chatId, '/memory')).toMatchObject({ decision: 'command' });
    expect((await botMessage(chatId, before + 3, 'the empty /memory')).text).toBe(
      "I don't remember anything about you yet.",
    );

    nextSummary = 'Asked what the bot knows.';
    openai.enqueue({ content: 'Nothing about you yet.' });
    const next = await say('brief', chatId, 'what do you know about me?');
    expect((await opening('what do you know about me?')).body.messages[0].content).toBe(
      'You are brief.',
    );
    await ledger.untilState(next.workId!, 'COMPLETED', 20_000);
  });

  it('/forget while a conversation is open: that conversation writes nothing back', async () => {
    const chatId = 700_100_003;
    const person = `telegram:agent:${ALICE.id}`;
    openai.enqueue({ content: 'I will keep that in mind.' });
    const open = await say('agent', chatId, 'my locker code is 1234');
    await botMessage(chatId, 1, 'the answer');
    await ledger.untilState(open.workId!, 'WAITING');
    expect(await say('agent', chatId, '/forget')).toMatchObject({ decision: 'command' });
    expect((await botMessage(chatId, 2, 'the /forget answer')).text).toBe(
      "I didn't remember anything about you, and I won't keep anything from our conversation so far.",
    );
    // The conversation is still open (a command does not answer it); /new ends it.
    expect((await ledger.work(open.workId!)).state).toBe('WAITING');
    const summariesBefore = openai.completions.filter((r) => isMemoryRequest(r.body)).length;
    openai.enqueue({ content: 'Hi.' });
    const fresh = await say('agent', chatId, '/new hi');
    await ledger.untilState(open.workId!, 'COMPLETED', 20_000);
    const steps = (await ledger.steps(open.workId!)).map((s) => s.name);
    expect(steps.at(-1)).toBe('memory:latest');
    expect(steps).not.toContain('memory:write');
    expect(openai.completions.filter((r) => isMemoryRequest(r.body))).toHaveLength(summariesBefore);
    expect(await memoryOf(person)).toMatchObject({ summary: null });
    await ledger.untilState(fresh.workId!, 'WAITING');
  });

  it('operators list, show and erase it over the API, with problem+json errors', async () => {
    const chatId = 700_100_001;
    await until(async () => (await memoryOf(alice))?.summary, "Alice's new memory");
    const list = await apiCall('GET', '/api/v1/memories?prefix=telegram:brief:');
    expect(list.status).toBe(200);
    expect(list.json.items.map((m: any) => m.person)).toEqual([alice]);
    const shown = await apiCall('GET', `/api/v1/memories/${encodeURIComponent(alice)}`);
    expect(shown).toMatchObject({
      status: 200,
      json: { person: alice, source: 'brief', summary: 'Asked what the bot knows.' },
    });

    const erased = await apiCall('DELETE', `/api/v1/memories/${encodeURIComponent(alice)}`);
    expect(erased).toMatchObject({ status: 200, json: { person: alice, erased: true } });
    expect(await memoryOf(alice)).toMatchObject({ summary: null });
    const before = api.botMessages(chatId).length;
    await say('brief', chatId, '/memory');
    expect((await botMessage(chatId, before + 1, 'the empty /memory')).text).toBe(
      "I don't remember anything about you yet.",
    );

    const missing = await apiCall('DELETE', '/api/v1/memories/telegram:brief:999');
    expect(missing.status).toBe(404);
    expect(missing.type).toContain('application/problem+json');
    const bad = await apiCall('GET', '/api/v1/memories/nobody');
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    const badCursor = await apiCall('GET', '/api/v1/memories?cursor=nope');
    expect(badCursor.status).toBe(400);
    const anonymous = await fetch(`${gw.url}/api/v1/memories`);
    expect(anonymous.status).toBe(401);
  });
});
