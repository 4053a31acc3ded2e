import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signButtonToken } from '@app/security';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { FIXTURES } from '@test/paths';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { TEST_DATABASE_URL } from '@test/env';
import { provisionButtonSecret } from '@app/ledger';

const TOKEN = '123456789:TEST_ONLY-button-secret-bot';
const SECRET_TOKEN = 'wg_TEST_ONLY-button-secret_0001';
const UNKNOWN_WAIT = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

/** What every installation without a configured secret used to sign buttons with. */
const OLD_DERIVED_SECRET = createHash('sha256')
  .update(`workgate-dev-buttons:${TEST_DATABASE_URL}`)
  .digest('hex');

describe('button secret without configuration: generated once, kept in the ledger', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let gateways: TestGateway[] = [];

  function config() {
    return testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        telegram: {
          apiRoot: api.url,
          bots: { main: { token: TOKEN, secretToken: SECRET_TOKEN } },
        },
      },
    });
  }

  function press(gw: TestGateway, data: string) {
    const update = JSON.parse(
      readFileSync(join(FIXTURES, 'telegram', 'update-callback-query.json'), 'utf8'),
    );
    update.update_id = api.nextUpdateId(TOKEN);
    update.callback_query.id = `cb-${update.update_id}`;
    update.callback_query.data = data;
    return post(
      `${gw.url}/telegram/main`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET_TOKEN),
    );
  }

  async function stored(): Promise<string[]> {
    const rows = await db.query<{ value: string }>(
      `SELECT value FROM "InstallationSecret" WHERE name = 'buttons'`,
    );
    return rows.map((r) => r.value);
  }

  beforeAll(async () => {
    db = await createTestSchema('button_secret');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'workgate_test_bot', first_name: 'Workgate Test Bot' })
      .start();
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('two gateways started at once on one database agree on one random secret', async () => {
    gateways = await Promise.all([startGateway(config()), startGateway(config())]);
    const secrets = await stored();
    expect(secrets).toHaveLength(1);
    expect(secrets[0]).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(secrets[0]).not.toBe(OLD_DERIVED_SECRET);
    // A token signed with the stored secret verifies on both gateways.
    for (const gw of gateways) {
      const data = signButtonToken(
        { kind: 'answer', waitId: UNKNOWN_WAIT, choice: 0 },
        secrets[0]!,
      );
      const res = await press(gw, data);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ outcome: 'ingested', result: { decision: 'dropped' } });
    }
  });

  it('a token signed with the old DATABASE_URL-derived secret is refused, nothing ingested', async () => {
    const [before] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "InboundEvent"');
    const data = signButtonToken(
      { kind: 'answer', waitId: UNKNOWN_WAIT, choice: 0 },
      OLD_DERIVED_SECRET,
    );
    const res = await press(gateways[0]!, data);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ outcome: 'forged_button' });
    const [after] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "InboundEvent"');
    expect(after!.n).toBe(before!.n);
  });

  it('twenty concurrent provisioners (separate connections) all read the same secret; a configured one wins', async () => {
    const other = await createTestSchema('button_secret_race');
    try {
      const cfg = testConfig({ schema: other.schema, prefix });
      const results = await Promise.all(
        Array.from({ length: 20 }, () => provisionButtonSecret(cfg)),
      );
      const secrets = new Set(results.map((c) => c.chat.buttonSecrets.join(',')));
      expect(secrets.size).toBe(1);
      const configured = testConfig({
        schema: other.schema,
        prefix,
        overrides: { chat: { buttonSecrets: ['a-configured-secret-of-length'] } },
      });
      expect((await provisionButtonSecret(configured)).chat.buttonSecrets).toEqual([
        'a-configured-secret-of-length',
      ]);
      const fromEnv = testConfig({
        schema: other.schema,
        prefix,
        env: { WORKGATE_BUTTON_SECRET: 'an-env-secret-of-some-length' },
      });
      expect((await provisionButtonSecret(fromEnv)).chat.buttonSecrets).toEqual([
        'an-env-secret-of-some-length',
      ]);
    } finally {
      await other.drop();
    }
  });
});
