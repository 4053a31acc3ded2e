import { createTestSchema, type TestSchema } from '@test/db';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { until } from '@test/until';

const TOKEN = '100000031:TEST_ONLY-stream-kill';
const SECRET = 'wg_TEST_ONLY-stream-kill';
const CHAT = 720_000_001;

/**
 * kill -9 while the model's answer is streaming into a Telegram draft: the preview was
 * never the record, so nothing of it is in the ledger or the chat's messages. The next
 * worker runs the model call again (its step never completed), streams a new draft, and
 * the answer is sent once, as the outbox's message.
 */
describe('a worker killed while the answer streams into a draft', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let release!: () => void;
  const never = new Promise<void>((resolve) => (release = resolve));
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('stream_kill');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 'stream_kill_bot', first_name: 'Stream Kill' });
    openai = await new OpenAiApiServer().start();
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          telegram: {
            apiRoot: api.url,
            bots: { main: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' } },
          },
        },
      }),
    );
  });

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    release();
    await gw?.close();
    await openai?.stop();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('leaves one answer after recovery, and no half of it as a message', async () => {
    const configPath = writeWorkerConfig({
      lease: '2s',
      reconcileEvery: '250ms',
      extra: [
        'telegram:',
        `  apiRoot: ${api.url}`,
        '  bots:',
        '    main:',
        `      token: "${TOKEN}"`,
        `      secretToken: ${SECRET}`,
        '      workflow: assistant',
        '      liveness: stream',
        'agent:',
        `  baseURL: ${openai.baseURL}`,
        '  apiKey: sk-test-only',
        '  model: gpt-test',
        '  followUpWindow: 0',
      ].join('\n'),
    });
    const answer = 'First part of a long answer, then the second part, then the end.';
    const pieces = ['First part of a long answer, ', 'then the second part, ', 'then the end.'];
    openai.enqueue(
      // Worker a dies in the middle of this one.
      { content: answer, pieces, stall: { afterPieces: 1, until: never } },
      { content: answer, pieces },
    );
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'stream-a' });
    workers.push(a);
    await workerStarted(a);

    const update = api.userMessage(TOKEN, {
      from: ALICE,
      chat: { id: CHAT, first_name: ALICE.first_name, type: 'private' },
      text: 'tell me everything',
    });
    const res = await post(
      `${gw.url}/telegram/main`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    const workId = res.json.result.workId as string;
    const firstDraft = await until(
      () => api.drafts.find((d) => d.chatId === CHAT),
      'a draft of the answer from worker a',
      20_000,
    );
    expect(firstDraft.text).toBe(pieces[0]);
    a.child.kill('SIGKILL');
    await a.exited;

    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'stream-b' });
    workers.push(b);
    await until(
      async () =>
        (await db.query<any>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]?.state ===
        'COMPLETED',
      'the work to complete on worker b',
      30_000,
    );
    const sent = await until(
      () => (api.botMessages(CHAT).length ? api.botMessages(CHAT) : null),
      'the answer',
    );
    expect(sent.map((m) => m.text)).toEqual([answer]);
    expect(api.on('sendMessage').filter((c) => Number(c.args.chat_id) === CHAT)).toHaveLength(1);
    // Two model calls, both streamed; only the one that finished is on record.
    expect(openai.completions).toHaveLength(2);
    const calls = await db.query<any>('SELECT "stepId" FROM "ModelCall" WHERE "workId" = $1', [
      workId,
    ]);
    expect(calls).toHaveLength(1);
    const outbox = await db.query<any>(
      `SELECT status, payload FROM "Outbox" WHERE "workId" = $1 AND channel = 'telegram'`,
      [workId],
    );
    expect(outbox).toEqual([expect.objectContaining({ status: 'sent' })]);
    // Worker b drafted the whole answer afresh under a draft id of its own.
    const drafts = api.drafts.filter((d) => d.chatId === CHAT);
    expect(new Set(drafts.map((d) => d.draftId)).size).toBe(2);
    expect(drafts.at(-1)!.draftId).not.toBe(firstDraft.draftId);
    const [work] = await db.query<any>('SELECT output FROM "Work" WHERE id = $1', [workId]);
    expect(work.output).toMatchObject({ answer });
  });
});
