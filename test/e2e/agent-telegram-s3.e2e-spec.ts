import { createHash } from 'node:crypto';
import { z } from 'zod';
import { createAssistantWorkflow } from '@app/agent';
import { defineWorkflow } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { S3ApiServer } from '@test/s3-api';
import {
  TelegramApiServer,
  type TelegramUserIdentity,
  telegramWebhookHeaders,
} from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const TOKEN = '100000041:TEST_ONLY-s3media';
const ECHO = '100000042:TEST_ONLY-s3echo';
const SECRET = 'wg_TEST_ONLY-s3-media-secret';
const BUCKET = 'chat-files';
const ACCESS_KEY = 'TESTONLYS3E2EKEY';
const SECRET_KEY = 'TEST_ONLY/s3-e2e-secret';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let nextUser = 820_000_000;
const person = (): TelegramUserIdentity => ({ id: ++nextUser, first_name: `Person${nextUser}` });

/** Sends back the stored attachment whose id the message names: read from the store at delivery. */
const echo = defineWorkflow(
  'tg.s3-echo',
  async (ctx, input) => {
    await ctx.send(ctx.origin.address!, { file: { id: input.text.trim() } });
    return { sent: 1 };
  },
  { input: z.object({ text: z.string() }).passthrough() },
);

/**
 * Files in a Telegram chat kept in S3 (`attachments.store: s3`), end to end: the real
 * gateway and worker, Telegraf against the loopback Bot API, the `openai` SDK against the
 * loopback OpenAI server, and the AWS SDK against the loopback S3 — path-style, as MinIO.
 */
describe('files in a Telegram chat kept in S3 (gateway + worker + loopback Bot API, OpenAI, S3)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let s3: S3ApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let ledger: ReturnType<typeof ledgerOf>;

  async function deliver(update: Record<string, any>, bot = 'media') {
    const res = await post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  beforeAll(async () => {
    db = await createTestSchema('agent_tg_s3');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 's3media_bot', first_name: 's3 media bot' });
    api.addBot(ECHO, { username: 's3echo_bot', first_name: 's3 echo bot' }, 700_000_001);
    openai = await new OpenAiApiServer().start();
    s3 = await new S3ApiServer().start();
    s3.createBucket(BUCKET).addCredentials(ACCESS_KEY, SECRET_KEY);
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-telegram-s3-secret-0001'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: {
            media: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' },
            echo: { token: ECHO, secretToken: SECRET, workflow: 'tg.s3-echo' },
          },
        },
        attachments: {
          store: 's3',
          s3: {
            bucket: BUCKET,
            prefix: 'workgate/',
            endpoint: s3.url,
            forcePathStyle: true,
            accessKeyId: '${TEST_S3_ACCESS_KEY}',
            secretAccessKey: '${TEST_S3_SECRET_KEY}',
          },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          followUpWindow: 0,
        },
      },
      // The keys come from the environment, as an operator's config file would take them.
      env: { TEST_S3_ACCESS_KEY: ACCESS_KEY, TEST_S3_SECRET_KEY: SECRET_KEY },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [
      createAssistantWorkflow({ settings: config.agent! }),
      echo,
    ]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await s3?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  let photoId: string;

  it('a photo is kept in the bucket and reaches the model as an image input from there', async () => {
    const who = person();
    openai.enqueue({ content: 'A pixel, from the bucket.' });
    const opened = await deliver(
      api.userFileMessage(TOKEN, { from: who, kind: 'photo', data: PNG }),
    );
    expect(opened.decision).toBe('opened');
    const answer = await until(() => api.botMessages(who.id)[0], 'the answer', 20_000);
    expect(answer.text).toBe('A pixel, from the bucket.');
    expect(openai.completions.at(-1)!.body.messages.at(-1).content).toEqual([
      { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG.toString('base64')}` } },
    ]);
    const ref = (await ledger.work(opened.workId!)).input.attachments[0];
    photoId = ref.id;
    const blob = s3.object(BUCKET, `workgate/blobs/${sha256(PNG)}`);
    expect(blob?.data.equals(PNG)).toBe(true);
    const metaKey = s3.requests.find((r) => r.method === 'PUT' && r.key.includes('/meta/'))!.key;
    expect(JSON.parse(s3.object(BUCKET, metaKey)!.data.toString())).toEqual({
      id: ref.id,
      sha256: sha256(PNG),
      mime: 'image/jpeg',
      size: PNG.byteLength,
      name: 'photo.jpg',
    });
    // The model's bytes were read back from the bucket, not from the download.
    expect(s3.on('GET', /\/blobs\//).some((r) => r.status === 200)).toBe(true);
    // Every call signed with the configured key; the only misses are put's existence checks.
    const refused = s3.requests.filter(
      (r) => r.accessKeyId !== ACCESS_KEY || (r.status >= 400 && r.status !== 404),
    );
    expect(refused).toEqual([]);
    expect(await db.query('SELECT id FROM "Attachment"')).toEqual([]);
  });

  it('a workflow sends the stored photo by id: the sender reads it from the bucket', async () => {
    const who = person();
    const blobReads = s3.on('GET', /\/blobs\//).length;
    const opened = await deliver(
      api.userMessage(ECHO, {
        from: who,
        chat: { id: who.id, first_name: who.first_name, type: 'private' },
        text: photoId,
      }),
      'echo',
    );
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    const [sent] = await until(
      () => (api.botMessages(who.id).length ? api.botMessages(who.id) : undefined),
      'the photo message',
      20_000,
    );
    expect(sent!.photo).toHaveLength(1);
    expect(api.on('sendPhoto').at(-1)!.uploads![0]!.data.equals(PNG)).toBe(true);
    expect(s3.on('GET', /\/blobs\//).length).toBeGreaterThan(blobReads);
  });
});
