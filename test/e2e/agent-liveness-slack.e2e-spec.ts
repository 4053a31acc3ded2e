import { createAssistantWorkflow } from '@app/agent';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer, slackHeaders } from '@test/slack-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const SIGNING_SECRET = 'e2e-slack-live-signing-TEST-ONLY';
const WS = {
  live: { teamId: 'T0LIVE001', token: 'xoxb-live', liveness: 'stream' },
  typer: { teamId: 'T0LIVE002', token: 'xoxb-typer', liveness: 'typing' },
} as const;
const USER = 'U0ALICE01';

function latch() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Liveness on Slack, end to end: the real gateway and worker, Bolt's WebClient against
 * the loopback Web API, the `openai` SDK streaming from the loopback OpenAI server. The
 * thread's assistant status while the model thinks, the answer streamed natively
 * (chat.startStream / appendStream / stopStream, to the person who asked) and deleted,
 * and the outbox's answer posted exactly once in the thread.
 */
describe('liveness on Slack (gateway + worker + loopback Slack + streaming OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: SlackApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  let n = 0;

  const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++n).padStart(6, '0')}`;

  async function sendEvent(ws: keyof typeof WS, event: Record<string, unknown>) {
    const doc = {
      token: 'unused',
      team_id: WS[ws].teamId,
      api_app_id: 'A0FAKE01',
      type: 'event_callback',
      event_id: `Ev0LIVE${Date.now()}${++n}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: WS[ws].teamId, user_id: 'U0FAKE02', is_bot: true }],
      event: { team: WS[ws].teamId, user: USER, ...event },
    };
    const body = JSON.stringify(doc);
    const res = await post(`${gw.url}/slack/events`, body, slackHeaders(body, SIGNING_SECRET));
    expect(res.status).toBe(200);
    return (res.json.results as Array<{ decision: string; workId: string | null }>)[0]!;
  }

  const mention = (ws: keyof typeof WS, channel: string, text: string) => {
    const at = ts();
    return sendEvent(ws, {
      type: 'app_mention',
      text: `<@U0FAKE02> ${text}`,
      ts: at,
      event_ts: at,
      channel,
    }).then((opened) => ({ ...opened, thread: at }));
  };

  const answers = (channel: string) =>
    api.on('chat.postMessage').filter((c) => c.args.channel === channel && c.status === 200);
  const streamCalls = (channel: string) => api.live.streams.filter((s) => s.channel === channel);

  beforeAll(async () => {
    db = await createTestSchema('agent_live_slack');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new SlackApiServer().start();
    for (const ws of Object.values(WS))
      api.tokens.set(ws.token, { teamId: ws.teamId, team: ws.teamId });
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-slack-live-button-secret-01'] },
        slack: {
          apiUrl: api.url,
          workspaces: Object.fromEntries(
            Object.entries(WS).map(([name, ws]) => [
              name,
              {
                teamId: ws.teamId,
                botToken: ws.token,
                signingSecret: SIGNING_SECRET,
                workflow: 'assistant',
                liveness: ws.liveness,
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

  it('a channel thread: the status, the answer streamed to the asker, deleted; the answer posted once', async () => {
    const channel = 'C0LIVE001';
    const thinking = latch();
    const writing = latch();
    const answer = 'Three deploys today, all green.';
    openai.enqueue({
      content: answer,
      gate: thinking.opened,
      pieces: ['Three deploys ', 'today, ', 'all green.'],
      stall: { afterPieces: 1, until: writing.opened },
    });
    const opened = await mention('live', channel, 'how are deploys?');
    expect(opened.decision).toBe('opened');

    const status = await until(
      () => api.live.statuses.find((s) => s.channel === channel),
      'the thread status while the model thinks',
    );
    expect(status).toMatchObject({ thread: opened.thread, status: 'is thinking…' });
    thinking.open();
    const started = await until(
      () => api.on('chat.startStream').find((c) => c.args.channel === channel),
      'the stream to start',
    );
    expect(started.response).toMatchObject({ ok: true });
    expect(started.args).toMatchObject({
      thread_ts: opened.thread,
      recipient_user_id: USER,
      recipient_team_id: WS.live.teamId,
    });
    expect(api.live.streams.find((s) => s.ts === started.response.ts)!.text).toBe('Three deploys ');
    expect(answers(channel)).toEqual([]); // the stream is a preview, not the answer
    writing.open();

    const [posted] = await until(
      () => (answers(channel).length ? answers(channel) : null),
      'the answer',
      20_000,
    );
    expect(posted!.args).toMatchObject({ text: answer, thread_ts: opened.thread });
    await ledger.untilState(opened.workId!, 'COMPLETED');
    const streamTs = started.response.ts as string;
    await until(
      () => api.live.deleted.some((m) => m.ts === streamTs),
      'the streamed preview deleted',
    );
    expect(api.messages.has(`${channel}/${streamTs}`)).toBe(false);
    expect(answers(channel)).toHaveLength(1);
    expect(streamCalls(channel).map((s) => s.method)).toEqual([
      'chat.startStream',
      ...streamCalls(channel)
        .slice(1, -1)
        .map(() => 'chat.appendStream'),
      'chat.stopStream',
    ]);
    // What the stream showed was the beginning of the answer.
    const shown = streamCalls(channel)
      .map((s) => s.text)
      .join('');
    expect(shown.length).toBeGreaterThan(0);
    expect(answer.startsWith(shown)).toBe(true);
    // The status was cleared after the answer's preview ended.
    expect(api.live.statuses.filter((s) => s.channel === channel).at(-1)!.status).toBe('');
  });

  it('a DM assistant thread streams without a recipient', async () => {
    const channel = 'D0LIVE001';
    openai.enqueue({ content: 'Hi from the DM.', pieces: ['Hi ', 'from the DM.'] });
    const root = ts();
    const at = ts();
    const opened = await sendEvent('live', {
      type: 'message',
      text: 'hello',
      ts: at,
      event_ts: at,
      thread_ts: root,
      channel,
      channel_type: 'im',
    });
    expect(opened.decision).toBe('opened');
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    const [posted] = await until(
      () => (answers(channel).length ? answers(channel) : null),
      'the answer in the DM thread',
    );
    expect(posted!.args).toMatchObject({ text: 'Hi from the DM.', thread_ts: root });
    const start = api.on('chat.startStream').find((c) => c.args.channel === channel)!;
    expect(start.response).toMatchObject({ ok: true });
    expect(start.args.recipient_user_id).toBeUndefined();
    expect(answers(channel)).toHaveLength(1);
  });

  it('a `typing` workspace sets the status and never streams', async () => {
    const channel = 'C0LIVE002';
    openai.enqueue({ content: 'Typed answer.' });
    const opened = await mention('typer', channel, 'anything?');
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    await until(() => answers(channel).length === 1, 'the answer');
    expect(api.live.statuses.filter((s) => s.channel === channel)[0]).toMatchObject({
      thread: opened.thread,
      status: 'is thinking…',
    });
    expect(api.on('chat.startStream').filter((c) => c.args.channel === channel)).toEqual([]);
    expect(openai.completions.at(-1)!.body.stream).toBeUndefined();
  });
});
