import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { signButtonToken } from '@app/security';
import { FIXTURES as SHARED_FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer } from '@test/slack-api';
import { until } from '@test/until';

const FIXTURES = join(SHARED_FIXTURES, 'slack');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/**
 * Socket Mode through Bolt's SocketModeReceiver against a loopback Slack: the app opens
 * the connection with apps.connections.open (app-level token), receives envelopes over
 * the WebSocket and acknowledges each only after the ledger commit.
 */
describe('Slack Socket Mode', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let api: SlackApiServer;
  let n = 0;

  function mention(text = '<@U0FAKE02> deploy staging') {
    const doc = fixture('event-app-mention.json');
    n += 1;
    doc.event_id = `Ev0SOCK${Date.now()}${n}`;
    doc.event.ts = `${Math.floor(Date.now() / 1000)}.${String(n).padStart(6, '0')}`;
    doc.event.text = text;
    return doc;
  }

  async function rows(externalId: string) {
    return db.query<any>('SELECT * FROM "InboundEvent" WHERE "externalId" = $1', [externalId]);
  }

  beforeAll(async () => {
    db = await createTestSchema('slack_socket');
    prefix = testQueuePrefix();
    api = await new SlackApiServer().start();
    api.appTokens.add('xapp-acme');
    api.tokens.set('xoxb-acme', { teamId: 'T0FAKE01', team: 'Workgate Fake' });
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          chat: { buttonSecrets: ['e2e-button-secret-TEST-ONLY-0003'] },
          slack: {
            apiUrl: api.url,
            workspaces: {
              acme: {
                teamId: 'T0FAKE01',
                botToken: 'xoxb-acme',
                socketMode: true,
                appToken: 'xapp-acme',
                workflow: 'triage',
              },
            },
          },
        },
      }),
    );
    await until(() => api.sockets.length > 0, 'the gateway to open its Socket Mode connection');
  });

  afterAll(async () => {
    await gw?.close();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('connected with the app-level token through apps.connections.open', () => {
    expect(api.on('apps.connections.open')[0]).toMatchObject({ token: 'xapp-acme' });
  });

  it('an app mention opens a work; the envelope is acknowledged only after the commit', async () => {
    const doc = mention();
    const blocker = new Client({
      connectionString: db.url,
      options: `-c search_path="${db.schema}"`,
    });
    await blocker.connect();
    let envelopeId: string;
    try {
      // Hold the ingest inside its transaction (at the Work's timeline write).
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE "WorkEvent" IN EXCLUSIVE MODE');
      envelopeId = api.pushEnvelope('events_api', doc);
      await until(
        async () =>
          (
            await blocker.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks
               WHERE NOT granted AND locktype = 'relation' AND relation = '"WorkEvent"'::regclass
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
            )
          ).rows[0]!.n >= 1,
        'the ingest to wait inside its transaction',
      );
      expect(api.acks).not.toContain(envelopeId);
      await blocker.query('COMMIT');
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    await until(() => api.acks.includes(envelopeId), 'the envelope to be acknowledged');
    const [event] = await rows(`acme:${doc.event_id}`);
    expect(event).toMatchObject({
      channel: 'slack',
      source: 'acme',
      decision: 'opened',
      conversationKey: `slack:acme:C0FAKE01:${doc.event.ts}`,
    });
    const works = await db.query<any>('SELECT kind FROM "Work" WHERE id = $1', [event.workId]);
    expect(works).toEqual([{ kind: 'triage' }]);

    // Slack redelivers an envelope it thinks was lost: acknowledged, applied once.
    const retry = api.pushEnvelope('events_api', doc, { retryAttempt: 1 });
    await until(() => api.acks.includes(retry), 'the redelivery to be acknowledged');
    expect(await rows(`acme:${doc.event_id}`)).toHaveLength(1);
  });

  it('a forged button over the socket is acknowledged (nothing to redeliver) and ingests nothing', async () => {
    const doc = fixture('interactivity-block-actions.json');
    doc.actions[0].value = signButtonToken(
      { kind: 'answer', waitId: '01890000-0000-7000-8000-000000000abc', choice: 1 },
      'not-the-button-secret-0000',
    );
    const [{ n: before }] = await db.query<any>('SELECT count(*)::int AS n FROM "InboundEvent"');
    const envelopeId = api.pushEnvelope('interactive', doc);
    await until(() => api.acks.includes(envelopeId), 'the forged press to be acknowledged');
    const [{ n: after }] = await db.query<any>('SELECT count(*)::int AS n FROM "InboundEvent"');
    expect(after).toBe(before);
  });
});
