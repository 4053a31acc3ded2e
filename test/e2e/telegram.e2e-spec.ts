import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signButtonToken } from '@app/security';
import { FIXTURES as SHARED_FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { until } from '@test/until';

const FIXTURES = join(SHARED_FIXTURES, 'telegram');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const TOKEN = '123456789:TEST_ONLY-main-bot-token';
const SECRET_TOKEN = 'wg_TEST_ONLY-telegram-secret_0001';
const BUTTON_SECRET = 'e2e-telegram-button-secret-0001';
const UNKNOWN_WAIT = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('Telegram webhook: POST /telegram/:bot', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let api: TelegramApiServer;
  /** Each test gets a chat of its own, so conversations never overlap. */
  let chat = 700_000_000;

  /** `secretToken: null` sends no secret-token header at all. */
  function deliver(update: unknown, secretToken: string | null = SECRET_TOKEN, bot = 'main') {
    return post(
      `${gw.url}/telegram/${bot}`,
      JSON.stringify(update),
      telegramWebhookHeaders(secretToken ?? undefined),
    );
  }

  /** A user's message in a fresh private chat (the fixture's shape, new ids). */
  function message(text: string, chatId = ++chat) {
    return api.userMessage(TOKEN, {
      from: { ...ALICE, id: chatId },
      chat: { id: chatId, first_name: 'Alice', type: 'private' },
      text,
    });
  }

  async function count(table: 'InboundEvent' | 'Work' | 'Outbox'): Promise<number> {
    const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}"`);
    return row!.n;
  }

  async function events(externalId: string) {
    return db.query<any>('SELECT * FROM "InboundEvent" WHERE "externalId" = $1', [externalId]);
  }

  beforeAll(async () => {
    db = await createTestSchema('telegram_e2e');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'workgate_test_bot', first_name: 'Workgate Test Bot' })
      .start();
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          chat: { buttonSecrets: [BUTTON_SECRET] },
          telegram: {
            apiRoot: api.url,
            bodyLimit: '16kb',
            bots: {
              main: {
                token: TOKEN,
                secretToken: SECRET_TOKEN,
                username: 'workgate_test_bot',
                workflow: 'chat-approval',
              },
              // Polled: takes no webhooks. Its poller stands by with nothing to fetch.
              local: { token: '987654321:TEST_ONLY-local', mode: 'polling' },
            },
          },
        },
      }),
    );
  });

  afterAll(async () => {
    await gw?.close();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('refuses a missing or wrong secret token with 401 problem+json, writing nothing', async () => {
    const before = await count('InboundEvent');
    const update = message('Please deploy the staging branch');
    const cases: Array<[string, string | null, string]> = [
      ['missing', null, 'signature_missing'],
      ['empty', '', 'signature_missing'],
      ['wrong', 'wg_TEST_ONLY-telegram-secret_0002', 'signature_invalid'],
      ['another bot’s', 'some-other-bots-secret', 'signature_invalid'],
    ];
    for (const [label, token, code] of cases) {
      const res = await deliver(update, token);
      expect({ label, status: res.status, code: res.json?.code }).toEqual({
        label,
        status: 401,
        code,
      });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(await count('InboundEvent')).toBe(before);
    expect(await count('Work')).toBe(0);
    expect(await events(`main:${update.update_id}`)).toEqual([]);
  });

  it('refuses unknown bots (404), bots in polling mode (404), other content (415), big bodies (413), broken JSON (400)', async () => {
    const before = await count('InboundEvent');
    const update = message('hello');
    expect((await deliver(update, SECRET_TOKEN, 'nobody')).status).toBe(404);
    expect((await deliver(update, SECRET_TOKEN, 'local')).status).toBe(404);
    const text = await post(`${gw.url}/telegram/main`, JSON.stringify(update), {
      ...telegramWebhookHeaders(SECRET_TOKEN),
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    const big = { ...update, message: { ...update.message, text: 'x'.repeat(20_000) } };
    expect((await deliver(big)).status).toBe(413);
    // The secret token is checked before the body is read: a stranger's big body is a 401.
    expect((await deliver(big, 'wrong')).status).toBe(401);
    const broken = await post(
      `${gw.url}/telegram/main`,
      '{"update_id":',
      telegramWebhookHeaders(SECRET_TOKEN),
    );
    expect(broken.status).toBe(400);
    expect(broken.json.code).toBe('malformed_body');
    expect(await count('InboundEvent')).toBe(before);
  });

  it('a message opens a work of the bot’s workflow, answered 200 after the commit', async () => {
    const update = message('Please deploy the staging branch');
    const res = await deliver(update);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ok: true,
      updateId: update.update_id,
      outcome: 'ingested',
      result: expect.objectContaining({ decision: 'opened', duplicate: false }),
    });
    const [event] = await events(`main:${update.update_id}`);
    expect(event).toMatchObject({
      channel: 'telegram',
      source: 'main',
      decision: 'opened',
      conversationKey: `telegram:main:${chat}`,
      actor: { id: `telegram:${chat}`, name: 'Alice Example' },
      workId: res.json.result.workId,
    });
    expect(event.body).toMatchObject({
      text: 'Please deploy the staging branch',
      chatType: 'private',
    });
    const [work] = await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [event.workId]);
    expect(work).toMatchObject({
      kind: 'chat-approval',
      state: 'QUEUED',
      conversationKey: `telegram:main:${chat}`,
      replyAddress: { channel: 'telegram', target: `main:${chat}` },
    });
    expect(work.input).toMatchObject({ text: 'Please deploy the staging branch' });
  });

  it('the fixture update, delivered as Telegram sends it, opens a work in the fixture chat', async () => {
    const update = fixture('update-message.json');
    const res = await deliver(update);
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ decision: 'opened', duplicate: false });
    expect(await events('main:100000001')).toHaveLength(1);
  });

  it('a replayed update (same update_id) is applied once, also when the copies arrive together', async () => {
    const update = message('run the nightly report');
    const worksBefore = await count('Work');
    const first = await deliver(update);
    const again = await deliver(update);
    expect(first.json.result).toMatchObject({ decision: 'opened', duplicate: false });
    expect(again.status).toBe(200);
    expect(again.json.result).toEqual({ ...first.json.result, duplicate: true });

    // Telegram may deliver in parallel (max_connections): a burst of the same update.
    const burst = message('and another');
    const answers = await Promise.all(Array.from({ length: 8 }, () => deliver(burst)));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => !a.json.result.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.json.result.eventId)).size).toBe(1);

    expect(await events(`main:${update.update_id}`)).toHaveLength(1);
    expect(await events(`main:${burst.update_id}`)).toHaveLength(1);
    expect(await count('Work')).toBe(worksBefore + 2);
  });

  it('out-of-order updates are each ingested on their own', async () => {
    const chatId = ++chat;
    const [a, b, c] = [message('one', chatId), message('two', chatId), message('three', chatId)];
    for (const update of [c, a, b]) expect((await deliver(update)).status).toBe(200);
    const rows = await db.query<any>(
      'SELECT "externalId", decision FROM "InboundEvent" WHERE "conversationKey" = $1 ORDER BY seq',
      [`telegram:main:${chatId}`],
    );
    expect(rows.map((r) => r.externalId)).toEqual([c, a, b].map((u) => `main:${u.update_id}`));
    // The first to arrive opened the work; the others reached it (busy policy: inbox).
    expect(rows.map((r) => r.decision)).toEqual(['opened', 'inbox', 'inbox']);
  });

  it('a forged button press writes nothing and is answered with an error text', async () => {
    const before = await count('InboundEvent');
    const update = fixture('update-callback-query.json');
    update.update_id = api.nextUpdateId(TOKEN);
    update.callback_query.id = 'forged-cb-1';
    const res = await deliver(update);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ outcome: 'forged_button' });
    expect(await count('InboundEvent')).toBe(before);
    const answer = await until(
      () => api.on('answerCallbackQuery').find((c) => c.args.callback_query_id === 'forged-cb-1'),
      'the forged press to be answered',
    );
    expect(answer.args.text).toMatch(/not valid/);
  });

  it('a valid press for a question that does not exist is recorded and answered with the ledger’s feedback', async () => {
    const update = fixture('update-callback-query.json');
    update.update_id = api.nextUpdateId(TOKEN);
    update.callback_query.id = 'stale-cb-1';
    update.callback_query.data = signButtonToken(
      { kind: 'answer', waitId: UNKNOWN_WAIT, choice: 1 },
      BUTTON_SECRET,
    );
    const res = await deliver(update);
    expect(res.json).toMatchObject({ outcome: 'ingested', result: { decision: 'dropped' } });
    const answer = await until(
      () => api.on('answerCallbackQuery').find((c) => c.args.callback_query_id === 'stale-cb-1'),
      'the press to be answered',
    );
    expect(answer.args.text).toBe('This question no longer exists.');
    expect(await count('Work')).toBeGreaterThan(0);
    const [event] = await events(`main:${update.update_id}`);
    expect(event).toMatchObject({ decision: 'dropped', workId: null });
  });

  it('/status@workgate_test_bot in a forum topic is answered by the gateway, in that topic', async () => {
    const update = fixture('update-forum-topic-message.json');
    update.update_id = api.nextUpdateId(TOKEN);
    const res = await deliver(update);
    expect(res.json.result).toMatchObject({ decision: 'command' });
    const [reply] = await db.query<any>(
      `SELECT o.* FROM "Outbox" o JOIN "InboundEvent" e ON o."idempotencyKey" = 'reply:' || e.id || ':notice'
       WHERE e."externalId" = $1`,
      [`main:${update.update_id}`],
    );
    expect(reply).toMatchObject({ channel: 'telegram', target: 'main:-1001234567890:42' });
    expect(reply.payload).toMatchObject({
      kind: 'notice',
      text: 'Nothing is running here.',
      replyTo: '57',
    });
  });

  it('an edit is its own update: it never opens a work', async () => {
    const update = fixture('update-edited-message.json');
    update.update_id = api.nextUpdateId(TOKEN);
    update.edited_message.chat.id = ++chat;
    update.edited_message.from.id = chat;
    const worksBefore = await count('Work');
    const res = await deliver(update);
    expect(res.json.result).toMatchObject({ decision: 'dropped', workId: null });
    expect(await count('Work')).toBe(worksBefore);
  });
});
