import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer } from '@test/telegram-api';
import { until } from '@test/until';

const TOKEN = '987654321:TEST_ONLY-local-bot-token';

describe('Telegram long polling (mode: polling)', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  const gateways: TestGateway[] = [];

  const config = () =>
    testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        telegram: {
          apiRoot: api.url,
          pollRetry: '200ms',
          bots: {
            local: { token: TOKEN, mode: 'polling', pollTimeout: '2s', workflow: 'chat-approval' },
          },
        },
      },
    });

  async function start(): Promise<TestGateway> {
    const gw = await startGateway(config());
    gateways.push(gw);
    return gw;
  }

  async function stop(gw: TestGateway): Promise<void> {
    await gw.close();
    gateways.splice(gateways.indexOf(gw), 1);
  }

  function push(text: string, chatId = 800_000_001) {
    const update = api.userMessage(TOKEN, {
      from: { ...ALICE, id: chatId },
      chat: { id: chatId, first_name: 'Alice', type: 'private' },
      text,
    });
    return api.pushUpdate(TOKEN, update);
  }

  /** How many InboundEvents each polled update produced, by update id. */
  async function ingested(): Promise<Map<number, number>> {
    const rows = await db.query<{ externalId: string }>(
      `SELECT "externalId" FROM "InboundEvent" WHERE channel = 'telegram' AND source = 'local'`,
    );
    const counts = new Map<number, number>();
    for (const r of rows) {
      const id = Number(r.externalId.split(':')[1]);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }

  async function offsetRow() {
    const [row] = await db.query<{ value: string }>(
      `SELECT value FROM "ChannelCursor" WHERE key = 'telegram:local:offset'`,
    );
    return row?.value;
  }

  beforeAll(async () => {
    db = await createTestSchema('telegram_poll');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'workgate_local_bot', first_name: 'Local Bot' }, 300_000_001)
      .start();
  });

  afterAll(async () => {
    for (const gw of [...gateways]) await stop(gw);
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('a restart neither replays nor loses updates: each is ingested once, the offset row follows', async () => {
    const first = await start();
    const batch = [push('one'), push('two'), push('three')];
    await until(async () => (await ingested()).size === 3, 'the first three updates ingested');
    await until(
      async () => (await offsetRow()) === String(batch[2]!.update_id + 1),
      'the offset stored past the third update',
    );
    // What the poller asks for (fixtures api-responses.json getUpdates request).
    expect(api.on('getUpdates').at(-1)!.args).toMatchObject({
      limit: 100,
      timeout: 2,
      allowed_updates: ['message', 'edited_message', 'callback_query'],
    });

    await stop(first);
    // While nobody polls: two new updates, and the third one again — as Telegram re-sends
    // an update whose confirmation (the next getUpdates offset) never came, e.g. after a
    // crash between the ingest commit and the offset write.
    const later = [push('four'), push('five')];
    api.pushUpdate(TOKEN, batch[2]!);
    await db.query(`UPDATE "ChannelCursor" SET value = $1 WHERE key = 'telegram:local:offset'`, [
      String(batch[2]!.update_id),
    ]);

    await start();
    await until(async () => (await ingested()).size === 5, 'all five updates ingested');
    await until(
      async () => (await offsetRow()) === String(later[1]!.update_id + 1),
      'the offset stored past the fifth update',
    );
    const counts = await ingested();
    expect([...counts.entries()].sort(([a], [b]) => a - b)).toEqual(
      [...batch, ...later].map((u) => [u.update_id, 1]),
    );
    // Everything below the offset was confirmed to Telegram by the next poll.
    await until(() => api.pending(TOKEN).length === 0, 'every update confirmed');
    const works = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Work"`);
    expect(works[0]!.n).toBe(1); // the first message opened it; the rest reached its inbox
  });

  it('one poller across replicas: the others stand by and take over when it stops', async () => {
    const a = await start();
    const b = await start();
    const before = api.on('getUpdates').length;
    const update = push('from replica land', 800_000_002);
    await until(async () => (await ingested()).get(update.update_id) === 1, 'the update ingested');

    // Stop whichever replica started first; the other holds the lock by now or takes it over.
    await stop(a);
    const next = push('after a stop', 800_000_002);
    await until(
      async () => (await ingested()).get(next.update_id) === 1,
      'the standby to take over',
    );
    await stop(b);

    // Two pollers at once would have ended each other's long polls with 409 (fixtures:
    // "terminated by other getUpdates request").
    const conflicts = api
      .on('getUpdates')
      .slice(before)
      .filter((c) => c.status === 409);
    expect(conflicts).toEqual([]);
    expect((await ingested()).get(update.update_id)).toBe(1);
  });

  it('refuses the webhook route for a polled bot', async () => {
    const gw = await start();
    const res = await fetch(`${gw.url}/telegram/local`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'x' },
    });
    expect(res.status).toBe(404);
    await stop(gw);
  });
});
