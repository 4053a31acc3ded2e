import { createAssistantWorkflow } from '@app/agent';
import { createTelegramSender } from '@app/channels/telegram';
import { outboundSenders } from '../../apps/worker/src/worker.module';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const MAIN = '100000041:TEST_ONLY-profiles-main';
const SUPPORT = '100000042:TEST_ONLY-profiles-support';
const SECRET = 'wg_TEST_ONLY-profiles-secret';
const OPS_CHAT = 700_200_009;

/**
 * Agent profiles end to end: one `assistant` kind, several profiles in config, chosen
 * per bot and per chat (agent.profileRoutes) and per conversation by `/ask_<profile>`;
 * the loopback OpenAI server sees each profile's model, system prompt and tools.
 */
describe('assistant profiles over Telegram (gateway + worker + loopback Bot API + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  async function say(bot: 'main' | 'support', chatId: number, text: string) {
    const update = api.userMessage(bot === 'main' ? MAIN : SUPPORT, {
      from: ALICE,
      chat: { id: chatId, first_name: ALICE.first_name, type: 'private' },
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

  /** The model request whose latest user turn is `text`. */
  const requestFor = (text: string) =>
    until(
      () => openai.completions.find((r) => r.body.messages.at(-1)?.content === text),
      `the model request for "${text}"`,
    );
  const toolNames = (body: any) => (body.tools ?? []).map((t: any) => t.function.name);

  beforeAll(async () => {
    db = await createTestSchema('agent_profiles');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    api.addBot(MAIN, { username: 'main_bot', first_name: 'main bot' });
    api.addBot(SUPPORT, { username: 'support_bot', first_name: 'support bot' }, 600_000_041);
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-profiles-secret-00001'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: {
            main: { token: MAIN, secretToken: SECRET, workflow: 'assistant' },
            support: { token: SUPPORT, secretToken: SECRET, workflow: 'assistant' },
          },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the default assistant.',
          followUpWindow: 0,
          profiles: {
            support: { model: 'gpt-support', system: 'You are support.' },
            ops: { model: 'gpt-ops', budget: { turns: 2 } },
            research: {
              model: 'gpt-research',
              system: 'You research.',
              tools: ['send_message'],
              followUpWindow: '10m',
              command: true,
            },
            hidden: { model: 'gpt-hidden' },
          },
          profileRoutes: [
            { channel: 'telegram', source: 'main', chat: OPS_CHAT, profile: 'ops' },
            { source: 'support', profile: 'support' },
          ],
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

  it('without a route or a command: the top-level settings, the `default` profile', async () => {
    openai.enqueue({ content: 'default answer' });
    const opened = await say('main', 700_200_001, 'hello default');
    const request = await requestFor('hello default');
    expect(request.body.model).toBe('gpt-test');
    expect(request.body.messages[0].content).toBe('You are the default assistant.');
    expect(toolNames(request.body)).toEqual(
      expect.arrayContaining(['ask_human', 'send_message', 'schedule_wakeup']),
    );
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toMatchObject({ answer: 'default answer', profile: 'default' });
  });

  it('per bot: every conversation with the support bot runs the support profile', async () => {
    openai.enqueue({ content: 'support answer' });
    const opened = await say('support', 700_200_002, 'hello support');
    const request = await requestFor('hello support');
    expect(request.body.model).toBe('gpt-support');
    expect(request.body.messages[0].content).toBe('You are support.');
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toMatchObject({ profile: 'support' });
  });

  it('per chat: one chat of the main bot runs the ops profile, with its own budget', async () => {
    openai.enqueue({ content: 'ops answer' });
    const opened = await say('main', OPS_CHAT, 'hello ops');
    const request = await requestFor('hello ops');
    expect(request.body.model).toBe('gpt-ops');
    // Fields a profile leaves out are the top-level ones.
    expect(request.body.messages[0].content).toBe('You are the default assistant.');
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toMatchObject({ profile: 'ops' });
  });

  it('per command: /ask_research picks a profile for the conversation, its follow-ups included', async () => {
    const chatId = 700_200_003;
    openai.enqueue({ content: 'research answer' }, { content: 'more research' });
    const opened = await say('main', chatId, '/ask_research what is a ledger?');
    const request = await requestFor('what is a ledger?');
    expect(request.body.model).toBe('gpt-research');
    expect(request.body.messages).toEqual([
      { role: 'system', content: 'You research.' },
      { role: 'user', content: 'what is a ledger?' },
    ]);
    expect(toolNames(request.body)).toEqual(['send_message']);
    await until(() => api.botMessages(chatId)[0], 'the first answer');
    await ledger.untilState(opened.workId!, 'WAITING');
    expect(await say('main', chatId, 'and a journal?')).toMatchObject({
      decision: 'resumed',
      workId: opened.workId,
    });
    expect((await requestFor('and a journal?')).body.model).toBe('gpt-research');
  });

  it('a profile without `command: true` cannot be asked for: the text goes to the default', async () => {
    openai.enqueue({ content: 'not hidden' });
    const opened = await say('main', 700_200_004, '/ask_hidden hi');
    const request = await requestFor('/ask_hidden hi');
    expect(request.body.model).toBe('gpt-test');
    const done = await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(done.output).toMatchObject({ profile: 'default' });
  });
});
