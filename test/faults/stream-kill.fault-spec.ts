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
 * kill -9 while the model's answer is streaming into a Telegram preview: the preview was
 * never the record, so nothing of it is in the ledger. The next worker runs the model
 * call again (its step never completed) and the answer is sent once, as the outbox's
 * message. In a private chat the dead worker's draft simply stops; in a group its
 * preview message is found (OpenPreviews, in Redis) and deleted by the next run.
 */
describe('a worker killed while the answer streams into a preview', () => {
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
            // The group's messages are all for the bot: what is tested is the preview.
            bots: {
              main: {
                token: TOKEN,
                secretToken: SECRET,
                workflow: 'assistant',
                requireMention: false,
              },
            },
          },
        },
      }),
    );
  });

  // A test that fails midway must not leave its worker to take the next test's work.
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop('SIGKILL');
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

  const workerConfig = () =>
    writeWorkerConfig({
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
        '      requireMention: false',
        'agent:',
        `  baseURL: ${openai.baseURL}`,
        '  apiKey: sk-test-only',
        '  model: gpt-test',
        '  followUpWindow: 0',
      ].join('\n'),
    });

  async function say(chat: Record<string, unknown>, text: string): Promise<string> {
    const update = api.userMessage(TOKEN, { from: ALICE, chat, text });
    const res = await post(
      `${gw.url}/telegram/main`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result.workId as string;
  }

  const completed = (workId: string, by: string) =>
    until(
      async () =>
        (await db.query<any>('SELECT state FROM "Work" WHERE id = $1', [workId]))[0]?.state ===
        'COMPLETED',
      `the work to complete on ${by}`,
      30_000,
    );

  it('private chat: one answer after recovery, and no half of it as a message', async () => {
    const configPath = workerConfig();
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
    const workId = await say(
      { id: CHAT, first_name: ALICE.first_name, type: 'private' },
      'tell me everything',
    );
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
    await completed(workId, 'worker b');
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
    // The row is marked sent after Telegram has answered: seen in the chat a moment
    // before it is marked (CI saw 'pending' here under load).
    const outbox = await until(async () => {
      const rows = await db.query<any>(
        `SELECT status, payload FROM "Outbox" WHERE "workId" = $1 AND channel = 'telegram'`,
        [workId],
      );
      return rows.every((r) => r.status !== 'pending') ? rows : null;
    }, 'the answer marked in the outbox');
    expect(outbox).toEqual([expect.objectContaining({ status: 'sent' })]);
    // Worker b drafted the whole answer afresh under a draft id of its own.
    const drafts = api.drafts.filter((d) => d.chatId === CHAT);
    expect(new Set(drafts.map((d) => d.draftId)).size).toBe(2);
    expect(drafts.at(-1)!.draftId).not.toBe(firstDraft.draftId);
    const [work] = await db.query<any>('SELECT output FROM "Work" WHERE id = $1', [workId]);
    expect(work.output).toMatchObject({ answer });
    // The next test's work must run on its own worker.
    await b.stop('SIGKILL');
  });

  it('group: the preview message worker c left behind is deleted, and the answer sent once', async () => {
    const group = -100_720_000_002;
    const configPath = workerConfig();
    const answer = 'Group answer: everything is fine, nothing to see.';
    const pieces = ['Group answer: ', 'everything is fine, ', 'nothing to see.'];
    openai.enqueue(
      { content: answer, pieces, stall: { afterPieces: 1, until: never } },
      { content: answer, pieces },
    );
    const c = spawnWorker({ schema: db.schema, prefix, configPath, name: 'stream-c' });
    workers.push(c);
    await workerStarted(c);
    const workId = await say({ id: group, title: 'Ops', type: 'supergroup' }, 'status?');
    const preview = await until(
      () => api.botMessages(group)[0],
      'the preview message of worker c',
      20_000,
    );
    expect(preview.text).toBe(pieces[0]);
    c.child.kill('SIGKILL');
    await c.exited;

    const d = spawnWorker({ schema: db.schema, prefix, configPath, name: 'stream-d' });
    workers.push(d);
    await completed(workId, 'worker d');
    const [left] = await until(
      () => {
        const messages = api.botMessages(group);
        return messages.length === 1 && messages[0]!.text === answer ? messages : null;
      },
      'only the answer in the group: the dead worker’s preview deleted',
      20_000,
    );
    expect(left!.message_id).not.toBe(preview.message_id);
    expect(api.deleted.map((m) => m.message_id)).toContain(preview.message_id);
    // The outbox's answer went once (worker d's own preview, sent silently, is not it).
    const answers = api
      .on('sendMessage')
      .filter((call) => Number(call.args.chat_id) === group && !call.args.disable_notification);
    expect(answers.map((call) => call.args.text)).toEqual([answer]);
  });
});
