import { createHash } from 'node:crypto';
import { z } from 'zod';
import { createAssistantWorkflow } from '@app/agent';
import { defineWorkflow } from '@app/engine';
import { outboundSenders } from '../../apps/worker/src/worker.module';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  TelegramApiServer,
  type TelegramUserIdentity,
  telegramWebhookHeaders,
} from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const TOKEN = '100000021:TEST_ONLY-media';
const FILER = '100000022:TEST_ONLY-filer';
const CHATTY = '100000023:TEST_ONLY-chatty';
const SECRET = 'wg_TEST_ONLY-media-secret';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let nextUser = 810_000_000;
const person = (): TelegramUserIdentity => ({ id: ++nextUser, first_name: `Person${nextUser}` });

/** A workflow that sends files with ctx.send: one inline, one stored earlier by id. */
const filer = defineWorkflow(
  'tg.filer',
  async (ctx) => {
    const here = ctx.origin.address!;
    await ctx.send(here, {
      text: 'The *report*, as promised.',
      file: {
        name: 'report.csv',
        mime: 'text/csv',
        data: Buffer.from('a,b\n1,2\n').toString('base64'),
      },
    });
    await ctx.send(here, {
      file: { name: 'pixel.png', mime: 'image/png', data: PNG.toString('base64') },
    });
    return { sent: 2 };
  },
  { input: z.object({}).passthrough() },
);

/**
 * Files in a Telegram chat, end to end: the real gateway and worker, Telegraf's client
 * against the loopback Bot API (getFile, file downloads, sendPhoto / sendDocument as
 * multipart) and the `openai` SDK against the loopback OpenAI server (image inputs,
 * audio transcriptions).
 */
describe('files in a Telegram chat (gateway + worker + loopback Bot API + loopback OpenAI)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
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
    db = await createTestSchema('agent_tg_media');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
    api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 'media_bot', first_name: 'media bot' });
    api.addBot(FILER, { username: 'filer_bot', first_name: 'filer bot' }, 700_000_001);
    api.addBot(CHATTY, { username: 'chatty_bot', first_name: 'chatty bot' }, 900_000_001);
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        chat: { buttonSecrets: ['e2e-agent-telegram-media-secret-01'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: {
            media: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' },
            filer: { token: FILER, secretToken: SECRET, workflow: 'tg.filer' },
            chatty: { token: CHATTY, secretToken: SECRET, workflow: 'assistant-chat' },
          },
        },
        attachments: { maxBytes: '64kb', transcriptionModel: 'whisper-test' },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          followUpWindow: 0,
        },
      },
    });
    gw = await startGateway(config);
    expect(outboundSenders(config).some((s) => s.channel === 'telegram')).toBe(true);
    worker = await startWorker(config, [
      createAssistantWorkflow({ settings: config.agent! }),
      // Keeps its conversation open, so a file can be the follow-up.
      createAssistantWorkflow({
        name: 'assistant-chat',
        settings: { ...config.agent!, followUpWindow: 10 * 60_000 },
      }),
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
  });

  const stored = (id: string) =>
    db.query<any>('SELECT sha256, mime, size, name FROM "Attachment" WHERE id = $1', [id]);

  it('a photo without a caption reaches the model as an image input and gets an answer', async () => {
    const who = person();
    openai.enqueue({ content: 'A single pixel.' });
    const opened = await deliver(
      api.userFileMessage(TOKEN, { from: who, kind: 'photo', data: PNG }),
    );
    expect(opened.decision).toBe('opened');
    const answer = await until(() => api.botMessages(who.id)[0], 'the answer', 20_000);
    expect(answer.text).toBe('A single pixel.');
    const request = openai.completions.at(-1)!.body;
    const user = request.messages.at(-1);
    expect(user.role).toBe('user');
    expect(user.content).toEqual([
      { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG.toString('base64')}` } },
    ]);
    // Fetched through getFile and the file URL, and stored with its hash.
    expect(api.on('getFile').length).toBeGreaterThan(0);
    const event = await ledger.work(opened.workId!);
    const ref = event.input.attachments[0];
    expect(ref).toMatchObject({
      channel: 'telegram',
      source: 'media',
      kind: 'photo',
      fileId: expect.any(String),
    });
    expect(await stored(ref.id)).toEqual([
      { sha256: sha256(PNG), mime: 'image/jpeg', size: PNG.byteLength, name: 'photo.jpg' },
    ]);
  });

  it('a text file is given to the model as text, with its caption', async () => {
    const who = person();
    openai.enqueue({ content: 'Two rows.' });
    await deliver(
      api.userFileMessage(TOKEN, {
        from: who,
        kind: 'document',
        data: Buffer.from('name,qty\napples,3\npears,5\n'),
        fileName: 'stock.csv',
        mimeType: 'text/csv',
        caption: 'how many rows?',
      }),
    );
    await until(() => api.botMessages(who.id)[0], 'the answer', 20_000);
    const user = openai.completions.at(-1)!.body.messages.at(-1);
    expect(user.content).toBe(
      'how many rows?\n\nAttached file stock.csv (text/csv):\n<<<\nname,qty\napples,3\npears,5\n\n>>>',
    );
  });

  it('a voice note is transcribed through the audio API and the model gets the transcript', async () => {
    const who = person();
    openai.transcripts.push('remind me to buy milk');
    openai.enqueue({ content: 'Noted: milk.' });
    await deliver(
      api.userFileMessage(TOKEN, { from: who, kind: 'voice', data: Buffer.from('OggS fake opus') }),
    );
    await until(() => api.botMessages(who.id)[0], 'the answer', 20_000);
    expect(openai.transcriptions.at(-1)).toMatchObject({
      model: 'whisper-test',
      type: 'audio/ogg',
      bytes: 14,
    });
    expect(openai.completions.at(-1)!.body.messages.at(-1).content).toBe(
      'Voice message voice.ogg, transcribed:\nremind me to buy milk',
    );
  });

  it('a file the model cannot read gets an honest reply, and the model is not called', async () => {
    const who = person();
    const before = openai.requests.length;
    await deliver(
      api.userFileMessage(TOKEN, {
        from: who,
        kind: 'document',
        data: Buffer.from('%PDF-1.7 fake'),
        fileName: 'contract.pdf',
        mimeType: 'application/pdf',
      }),
    );
    const reply = await until(() => api.botMessages(who.id)[0], 'the honest reply', 20_000);
    expect(reply.text).toContain('I cannot read contract.pdf (application/pdf)');
    expect(reply.text).toContain('I can read images, text files');
    expect(openai.requests.length).toBe(before);
  });

  it('a file over the size limit is refused with its size, without downloading it', async () => {
    const who = person();
    const downloads = api.files.downloads.length;
    const update = api.userFileMessage(TOKEN, {
      from: who,
      kind: 'document',
      data: Buffer.alloc(10, 1),
      fileName: 'huge.txt',
      mimeType: 'text/plain',
      fileSize: 5 * 1024 * 1024,
    });
    const getFiles = api.on('getFile').length;
    await deliver(update);
    const reply = await until(() => api.botMessages(who.id)[0], 'the size reply', 20_000);
    expect(reply.text).toBe('Huge.txt (text/plain) is 5 MB, more than the 64 KB I can take.');
    expect(api.on('getFile').length).toBe(getFiles);
    expect(api.files.downloads.length).toBe(downloads);
  });

  it('ctx.send sends a document with its caption and a photo, each once (multipart)', async () => {
    const who = person();
    const opened = await deliver(
      api.userMessage(FILER, {
        from: who,
        chat: { id: who.id, first_name: who.first_name, type: 'private' },
        text: 'files please',
      }),
      'filer',
    );
    await ledger.untilState(opened.workId!, 'COMPLETED', 20_000);
    const sent = await until(
      () => (api.botMessages(who.id).length === 2 ? api.botMessages(who.id) : undefined),
      'two file messages',
      20_000,
    );
    expect(sent[0]).toMatchObject({
      document: { file_name: 'report.csv' },
      caption: 'The report, as promised.',
    });
    expect(sent[1]!.photo).toHaveLength(1);
    const docs = api.on('sendDocument');
    expect(docs).toHaveLength(1);
    expect(docs[0]!.uploads![0]!.data.toString()).toBe('a,b\n1,2\n');
    expect(docs[0]!.args.parse_mode).toBe('HTML');
    expect(api.on('sendPhoto')).toHaveLength(1);
    expect(api.on('sendPhoto')[0]!.uploads![0]!.data.equals(PNG)).toBe(true);
    // The outbox commits after Telegram answered: wait for the rows, not the messages.
    const rows = await until(async () => {
      const found = await db.query<any>(
        `SELECT status FROM "Outbox" WHERE "workId" = $1 ORDER BY "createdAt"`,
        [opened.workId],
      );
      return found.length === 2 && found.every((r) => r.status === 'sent') ? found : undefined;
    }, 'both outbox rows sent');
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
  });

  it('the assistant sends a file it writes with the send_file tool', async () => {
    const who = person();
    openai.enqueue(
      {
        toolCalls: [
          {
            name: 'send_file',
            arguments: { name: 'notes.md', content: '# Notes\n- one\n', caption: 'Here you go' },
          },
        ],
      },
      { content: 'Sent.' },
    );
    await deliver(
      api.userMessage(TOKEN, {
        from: who,
        chat: { id: who.id, first_name: who.first_name, type: 'private' },
        text: 'write me notes',
      }),
    );
    const [file, answer] = await until(
      () => (api.botMessages(who.id).length === 2 ? api.botMessages(who.id) : undefined),
      'the file and the answer',
      20_000,
    );
    expect(file).toMatchObject({ document: { file_name: 'notes.md' }, caption: 'Here you go' });
    expect(answer!.text).toBe('Sent.');
    const upload = api.on('sendDocument').at(-1)!.uploads![0]!;
    expect(upload.data.toString()).toBe('# Notes\n- one\n');
    const toolResult = openai.completions.at(-1)!.body.messages.at(-1);
    expect(JSON.parse(toolResult.content)).toMatchObject({ sent: true });
  });

  it('a photo sent as a follow-up continues the same conversation, with the image', async () => {
    const who = person();
    openai.enqueue({ content: 'Send it over.' }, { content: 'Nice pixel.' });
    const opened = await deliver(
      api.userMessage(CHATTY, {
        from: who,
        chat: { id: who.id, first_name: who.first_name, type: 'private' },
        text: 'can I show you a picture?',
      }),
      'chatty',
    );
    await until(() => api.botMessages(who.id)[0], 'the first answer', 20_000);
    await until(
      async () => (await ledger.work(opened.workId!)).state === 'WAITING' || undefined,
      'the follow-up wait',
      20_000,
    );
    const followUp = await deliver(
      api.userFileMessage(CHATTY, { from: who, kind: 'photo', data: PNG, caption: 'here' }),
      'chatty',
    );
    expect(followUp).toMatchObject({ decision: 'resumed', workId: opened.workId });
    const second = await until(() => api.botMessages(who.id)[1], 'the second answer', 20_000);
    expect(second.text).toBe('Nice pixel.');
    const messages = openai.completions.at(-1)!.body.messages;
    expect(messages.map((m: any) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(messages.at(-1).content).toEqual([
      { type: 'text', text: 'here' },
      { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${PNG.toString('base64')}` } },
    ]);
  });
});
