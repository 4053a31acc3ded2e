import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAssistantWorkflow } from '@app/agent';
import { FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer, slackHeaders } from '@test/slack-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const SIGNING_SECRET = 'e2e-slack-memory-signing-TEST-ONLY';
const TEAM = 'T0MEMO001';
const TOKEN = 'xoxb-memory';
const DM = 'D0MEMO001';
const USER = 'U0MEMO001';
const PERSON = `slack:acme:${TEAM}:${USER}`;

const isMemoryRequest = (body: any) =>
  typeof body?.messages?.[0]?.content === 'string' &&
  body.messages[0].content.startsWith('You keep the long-term memory');

/**
 * Memory and profiles in a Slack DM, through the real gateway (signed Events API
 * requests), the real worker, @slack/web-api against a loopback Slack and the `openai`
 * SDK against a loopback OpenAI server: the workspace's profile answers, the
 * conversation's end writes the memory, and the bare words `memory` and `forget` show
 * and erase it — while a sentence that starts with "forget" is just a message.
 */
describe('assistant memory in a Slack DM (gateway + worker + loopback Slack + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: SlackApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  let n = 0;

  async function dm(text: string) {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'slack', 'event-message-im.json'), 'utf8'));
    const at = `${Math.floor(Date.now() / 1000)}.${String(++n).padStart(6, '0')}`;
    doc.team_id = TEAM;
    doc.event_id = `Ev0MEMO${Date.now()}${n}`;
    doc.authorizations[0].team_id = TEAM;
    doc.event = { ...doc.event, team: TEAM, user: USER, channel: DM, text, ts: at, event_ts: at };
    const body = JSON.stringify(doc);
    const res = await post(`${gw.url}/slack/events`, body, slackHeaders(body, SIGNING_SECRET));
    expect(res.status).toBe(200);
    return res.json.results[0] as { decision: string; workId: string | null };
  }

  const posted = () =>
    api.on('chat.postMessage').filter((c) => c.args.channel === DM && c.status === 200);
  const untilPosted = (count: number, what: string) =>
    until(() => posted()[count - 1], what, 20_000);
  const memoryOf = async () =>
    (await db.query<any>('SELECT * FROM "PersonMemory" WHERE person = $1', [PERSON]))[0];

  beforeAll(async () => {
    db = await createTestSchema('agent_memory_slack');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new SlackApiServer().start();
    api.tokens.set(TOKEN, { teamId: TEAM, team: TEAM });
    openai = await new OpenAiApiServer().start();
    openai.answerBy = (body) =>
      isMemoryRequest(body) ? { content: 'Works on the billing team.' } : undefined;
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-memory-slack-secret01'] },
        slack: {
          apiUrl: api.url,
          workspaces: {
            acme: {
              teamId: TEAM,
              botToken: TOKEN,
              signingSecret: SIGNING_SECRET,
              workflow: 'assistant',
            },
          },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          profiles: {
            helper: {
              model: 'gpt-helper',
              system: 'You help ACME staff.',
              followUpWindow: '1s',
              memory: { enabled: true },
            },
          },
          profileRoutes: [{ channel: 'slack', source: 'acme', profile: 'helper' }],
        },
      },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [createAssistantWorkflow({ settings: config.agent! })]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it("the workspace's profile answers, the memory is written, shown and erased by the person", async () => {
    openai.enqueue({ content: 'Welcome to billing.' });
    const opened = await dm('I just joined the billing team');
    expect(opened.decision).toBe('opened');
    expect((await untilPosted(1, 'the answer in the DM')).args.text).toContain(
      'Welcome to billing.',
    );
    const first = openai.completions.find((r) => !isMemoryRequest(r.body))!;
    expect(first.body.model).toBe('gpt-helper');
    expect(first.body.messages[0].content).toBe('You help ACME staff.');
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    expect(await memoryOf()).toMatchObject({
      channel: 'slack',
      source: 'acme',
      summary: 'Works on the billing team.',
    });

    expect(await dm('memory')).toMatchObject({ decision: 'command' });
    expect((await untilPosted(2, 'the memory in the DM')).args.text).toContain(
      'Works on the billing team.',
    );
    expect(await dm('forget')).toMatchObject({ decision: 'command' });
    await untilPosted(3, 'the /forget answer');
    expect(await memoryOf()).toMatchObject({ summary: null });

    // A sentence starting with "forget" is a message for the assistant, not an erase.
    openai.enqueue({ content: 'Sure, prod it is.' });
    const sentence = await dm('forget it, I meant prod');
    expect(sentence.decision).toBe('opened');
    await untilPosted(4, 'the answer to the sentence');
    await ledger.untilState(sentence.workId!, 'COMPLETED', 20_000);
    expect((await memoryOf()).summary).toBe('Works on the billing team.');
  });
});
