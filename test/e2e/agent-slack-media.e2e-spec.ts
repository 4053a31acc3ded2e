import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { createAssistantWorkflow } from '@app/agent';
import { defineWorkflow } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer, slackHeaders } from '@test/slack-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const SIGNING_SECRET = 'e2e-slack-media-signing-TEST-ONLY';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const WS = {
  media: { teamId: 'T0MEDIA01', token: 'xoxb-media', workflow: 'assistant' },
  filer: { teamId: 'T0FILER01', token: 'xoxb-filer', workflow: 'slack.filer' },
} as const;

/** Sends a file received in the message back, by its attachment id, and a new one inline. */
const filer = defineWorkflow(
  'slack.filer',
  async (ctx) => {
    const here = ctx.origin.address!;
    await ctx.send(here, {
      text: 'Your *summary*',
      file: { name: 'summary.txt', data: Buffer.from('all good\n').toString('base64') },
    });
    return { sent: 1 };
  },
  { input: z.object({}).passthrough() },
);

/**
 * Files in Slack, end to end: a DM with a shared image fetched from url_private with the
 * bot token, kept in the local-directory store, given to the model as a Responses API
 * image input; a workflow's file sent through the upload flow (getUploadURLExternal,
 * the upload, completeUploadExternal) into the thread.
 */
describe('files in Slack (gateway + worker + loopback Slack + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: SlackApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;
  let dir: string;
  let n = 0;

  const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++n).padStart(6, '0')}`;

  async function sendEvent(ws: keyof typeof WS, event: Record<string, unknown>) {
    const doc = {
      token: 'unused',
      team_id: WS[ws].teamId,
      api_app_id: 'A0FAKE01',
      type: 'event_callback',
      event_id: `Ev0MEDIA${Date.now()}${++n}`,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ team_id: WS[ws].teamId, user_id: 'U0FAKE02', is_bot: true }],
      event: { team: WS[ws].teamId, user: 'U0FAKE01', ...event },
    };
    const body = JSON.stringify(doc);
    const res = await post(`${gw.url}/slack/events`, body, slackHeaders(body, SIGNING_SECRET));
    expect(res.status).toBe(200);
    return res.json.results as Array<{ decision: string; workId: string | null }>;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wg-attachments-'));
    db = await createTestSchema('agent_slack_media');
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
        chat: { buttonSecrets: ['e2e-slack-media-button-secret-01'] },
        slack: {
          apiUrl: api.url,
          workspaces: Object.fromEntries(
            Object.entries(WS).map(([name, ws]) => [
              name,
              {
                teamId: ws.teamId,
                botToken: ws.token,
                signingSecret: SIGNING_SECRET,
                workflow: ws.workflow,
              },
            ]),
          ),
        },
        attachments: { store: 'local', dir },
        agent: {
          api: 'responses',
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
      filer,
    ]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an image shared in a DM is downloaded with the bot token and given to the model (Responses API)', async () => {
    openai.enqueue({ content: 'A tiny image.' });
    const file = api.files.userFile(PNG, 'pixel.png', 'image/png');
    const at = ts();
    const [opened] = await sendEvent('media', {
      type: 'message',
      subtype: 'file_share',
      text: 'what is this?',
      ts: at,
      event_ts: at,
      channel: 'D0MEDIA01',
      channel_type: 'im',
      files: [file],
    });
    expect(opened!.decision).toBe('opened');
    const answer = await until(
      () =>
        api.on('chat.postMessage').find((c) => c.args.channel === 'D0MEDIA01' && c.status === 200),
      'the answer in the DM',
      20_000,
    );
    expect(answer.args.text).toBe('A tiny image.');
    expect(api.files.downloads).toEqual([{ id: file.id, token: 'xoxb-media', status: 200 }]);
    const request = openai.completions.at(-1)!;
    expect(request.path).toBe('/v1/responses');
    expect(request.body.input.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'input_text', text: 'what is this?' },
        {
          type: 'input_image',
          image_url: `data:image/png;base64,${PNG.toString('base64')}`,
          detail: 'auto',
        },
      ],
    });
    // Kept in the local directory store: content-addressed bytes and the metadata.
    expect(readdirSync(join(dir, 'blobs'))).toHaveLength(1);
    expect(existsSync(join(dir, 'meta'))).toBe(true);
    const work = await ledger.work(opened!.workId!);
    expect(work.input.attachments[0]).toMatchObject({
      kind: 'photo',
      mime: 'image/png',
      size: PNG.byteLength,
    });
  });

  it('ctx.send uploads a file into the thread through the upload flow, once', async () => {
    const at = ts();
    const [opened] = await sendEvent('filer', {
      type: 'app_mention',
      text: '<@U0FAKE02> send the summary',
      ts: at,
      event_ts: at,
      channel: 'C0FILER01',
    });
    await ledger.untilState(opened!.workId!, 'COMPLETED', 20_000);
    const [shared] = await until(
      () => (api.files.shared('C0FILER01').length ? api.files.shared('C0FILER01') : undefined),
      'the shared file',
      20_000,
    );
    expect(shared).toMatchObject({
      name: 'summary.txt',
      shared: { channel: 'C0FILER01', threadTs: at, initialComment: 'Your _summary_' },
    });
    expect(shared!.data!.toString()).toBe('all good\n');
    expect(api.on('files.getUploadURLExternal')).toHaveLength(1);
    expect(api.on('files.completeUploadExternal')).toHaveLength(1);
    // The outbox commits after Slack answered: wait for the row, not the upload.
    const rows = await until(async () => {
      const found = await db.query<any>(
        `SELECT status, "providerMessageId" FROM "Outbox" WHERE "workId" = $1`,
        [opened!.workId],
      );
      return found.every((r) => r.status === 'sent') ? found : undefined;
    }, 'the outbox row sent');
    expect(rows).toEqual([{ status: 'sent', providerMessageId: shared!.id }]);
  });
});
