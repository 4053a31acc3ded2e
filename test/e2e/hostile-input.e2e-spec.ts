import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMES } from '@app/channels/webhook';
import { FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { runCli } from '@test/cli';
import { TEST_DATABASE_URL } from '@test/env';
import { post } from '@test/http';
import { jobIdsIn } from '@test/queue';
import { rawRequest } from '@test/raw-http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { slackHeaders, slackInteractionBody } from '@test/slack-api';
import { telegramWebhookHeaders } from '@test/telegram-api';

const fixture = (path: string) => JSON.parse(readFileSync(join(FIXTURES, path), 'utf8'));

const SW_SECRET = 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=';
const TELEGRAM_TOKEN = '123456789:TEST_ONLY-hostile-bot-token';
const TELEGRAM_SECRET = 'wg_TEST_ONLY-hostile-secret_0001';
const SLACK_SECRET = 'e2e-hostile-slack-signing-secret';
const API_TOKEN = 'wg_TEST_ONLY_hostile_api_token_0000000000000';

/** Names every plain object answers: Object.prototype's own properties. */
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

const nowSeconds = () => Math.floor(Date.now() / 1000);

function signed(body: string | Buffer, id: string): Record<string, string> {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return {
    'content-type': 'application/json',
    ...SCHEMES['standard-webhooks'].sign({
      rawBody,
      secret: SW_SECRET,
      nowSeconds: nowSeconds(),
      id,
    }),
  };
}

/** `[[…[]…]]` (or `{"a":{…{}…}}`): `levels` containers, the innermost empty. */
function nested(levels: number, shape: 'array' | 'object', inner = ''): string {
  return shape === 'array'
    ? '['.repeat(levels) + inner + ']'.repeat(levels)
    : '{"a":'.repeat(levels - 1) + `{${inner}}` + '}'.repeat(levels - 1);
}

describe('hostile and malformed input at the gateway edges', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let n = 0;
  const nextId = () => `msg_hostile_${Date.now()}_${n++}`;

  /** Every ledger table a refused request must leave alone. */
  async function counts() {
    const [row] = await db.query(
      `SELECT (SELECT count(*) FROM "InboundEvent")::int AS events, (SELECT count(*) FROM "Work")::int AS works,
              (SELECT count(*) FROM "WorkEvent")::int AS timeline, (SELECT count(*) FROM "Outbox")::int AS outbox,
              (SELECT count(*) FROM "Wait")::int AS waits`,
    );
    return row!;
  }

  async function expectNothingWritten<T>(fn: () => Promise<T>): Promise<T> {
    const before = await counts();
    const jobs = await jobIdsIn(prefix);
    const result = await fn();
    expect(await counts()).toEqual(before);
    expect(await jobIdsIn(prefix)).toEqual(jobs);
    return result;
  }

  function expectProblem(
    res: { status: number; headers: { get(n: string): string | null } | Record<string, string> },
    json: any,
    status: number,
    code: string,
  ) {
    const type =
      'get' in res.headers && typeof res.headers.get === 'function'
        ? res.headers.get('content-type')
        : (res.headers as Record<string, string>)['content-type'];
    expect({ status: res.status, code: json?.code, type }).toEqual({
      status,
      code,
      type: expect.stringMatching(/^application\/problem\+json/),
    });
    expect(json).toMatchObject({ status, title: expect.any(String), type: expect.any(String) });
  }

  beforeAll(async () => {
    db = await createTestSchema('hostile');
    prefix = testQueuePrefix();
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        env: { WORKGATE_API_TOKEN: API_TOKEN },
        overrides: {
          chat: { buttonSecrets: ['e2e-hostile-button-secret-0001'] },
          webhooks: {
            sources: {
              deploys: { scheme: 'standard-webhooks', secrets: [SW_SECRET], workflow: 'deploy' },
            },
          },
          telegram: {
            bots: { main: { token: TELEGRAM_TOKEN, secretToken: TELEGRAM_SECRET } },
          },
          slack: {
            workspaces: {
              acme: { teamId: 'T0FAKE01', botToken: 'xoxb-acme', signingSecret: SLACK_SECRET },
            },
          },
        },
      }),
    );
  });

  afterAll(async () => {
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  describe('names that are Object.prototype properties: 404 before the body is read', () => {
    const routes = PROTOTYPE_NAMES.flatMap((name) => [
      [`/hooks/${name}`, 'unknown_source', { 'content-type': 'application/json' }],
      [`/telegram/${name}`, 'unknown_source', { ...telegramWebhookHeaders(TELEGRAM_SECRET) }],
      [`/slack/${name}`, 'not_found', { 'content-type': 'application/json' }],
    ]) as Array<[string, string, Record<string, string>]>;
    routes.push(['/no/such/route', 'not_found', { 'content-type': 'application/json' }]);

    it.each(routes)('POST %s → 404 %s while the body is withheld', async (path, code, headers) => {
      const res = await expectNothingWritten(() =>
        rawRequest(
          gw.url,
          [
            `POST ${path} HTTP/1.1`,
            `host: 127.0.0.1`,
            'transfer-encoding: chunked',
            ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
          ].join('\r\n'),
          { withhold: true },
        ),
      );
      expectProblem(res, JSON.parse(res.body), 404, code);
    });
  });

  describe('nesting: 128 levels pass, 129 are refused, whatever the innermost value', () => {
    const shapes: Array<[string, number, string, number]> = [];
    for (const shape of ['array', 'object'] as const) {
      shapes.push([`${shape}, 128 levels, empty`, 128, nested(128, shape), 202]);
      shapes.push([
        `${shape}, 128 levels, a scalar inside`,
        128,
        nested(128, shape, shape === 'array' ? '1' : '"b":1'),
        202,
      ]);
      shapes.push([`${shape}, 129 levels, empty`, 129, nested(129, shape), 400]);
      shapes.push([
        `${shape}, 129 levels, a scalar inside`,
        129,
        nested(129, shape, shape === 'array' ? '1' : '"b":1'),
        400,
      ]);
    }
    it.each(shapes)('%s', async (_label, _levels, body, status) => {
      const before = await counts();
      const res = await post(`${gw.url}/hooks/deploys`, body, signed(body, nextId()));
      expect({ status: res.status, body: res.json }).toMatchObject({ status });
      if (status === 400) {
        expectProblem(res, res.json, 400, 'malformed_body');
        expect(await counts()).toEqual(before);
      }
    });
  });

  describe('10 000 levels of nesting in an authentic chat body: 400 problem+json, nothing written', () => {
    const deep = nested(10_000, 'array');

    it('a Telegram update', async () => {
      const update = fixture('telegram/update-message.json');
      const body = JSON.stringify(update).replace(/}$/, `,"deep":${deep}}`);
      const res = await expectNothingWritten(() =>
        post(`${gw.url}/telegram/main`, body, telegramWebhookHeaders(TELEGRAM_SECRET)),
      );
      expectProblem(res, res.json, 400, 'malformed_body');
    });

    it('a Slack events body', async () => {
      const doc = fixture('slack/event-app-mention.json');
      doc.event_id = `Ev0HOSTILE${Date.now()}`;
      const body = JSON.stringify(doc).replace(/}$/, `,"deep":${deep}}`);
      const res = await expectNothingWritten(() =>
        post(`${gw.url}/slack/events`, body, slackHeaders(body, SLACK_SECRET)),
      );
      expectProblem(res, res.json, 400, 'malformed_body');
    });

    it('a Slack interactivity payload', async () => {
      const payload = JSON.stringify(fixture('slack/interactivity-block-actions.json')).replace(
        /}$/,
        `,"deep":${deep}}`,
      );
      const body = new URLSearchParams({ payload }).toString();
      expect(slackInteractionBody({})).toContain('payload=');
      const res = await expectNothingWritten(() =>
        post(
          `${gw.url}/slack/interactivity`,
          body,
          slackHeaders(body, SLACK_SECRET, { contentType: 'application/x-www-form-urlencoded' }),
        ),
      );
      expectProblem(res, res.json, 400, 'malformed_body');
    });
  });

  describe('a delivery id used again', () => {
    it('with the same bytes: 200 duplicate; with other bytes: 409 idempotency_key_reused, the original untouched, the conflict recorded', async () => {
      const id = nextId();
      const first = JSON.stringify({ type: 'deploy.requested', env: 'staging' });
      const res = await post(`${gw.url}/hooks/deploys`, first, signed(first, id));
      expect(res.status).toBe(202);
      const again = await post(`${gw.url}/hooks/deploys`, first, signed(first, id));
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ eventId: res.json.eventId, duplicate: true });

      const [original] = await db.query('SELECT * FROM "InboundEvent" WHERE id = $1', [
        res.json.eventId,
      ]);
      const other = JSON.stringify({ type: 'deploy.requested', env: 'production' });
      const conflict = await expectNothingWritten(() =>
        post(`${gw.url}/hooks/deploys`, other, signed(other, id)),
      );
      expectProblem(conflict, conflict.json, 409, 'idempotency_key_reused');
      expect(conflict.json).toMatchObject({ eventId: res.json.eventId });
      const [after] = await db.query('SELECT * FROM "InboundEvent" WHERE id = $1', [
        res.json.eventId,
      ]);
      expect(after).toEqual(original);
      const conflicts = await db.query<{ externalId: string; body: Buffer }>(
        'SELECT "externalId", body FROM "DeliveryConflict" WHERE channel = $1',
        ['webhook'],
      );
      expect(conflicts.map((c) => [c.externalId, c.body.toString('utf8')])).toEqual([
        [`deploys:${id}`, other],
      ]);
    });
  });

  it('two deliveries racing with one id and different bytes: one is taken (202), the other refused (409)', async () => {
    const id = nextId();
    const bodies = [JSON.stringify({ type: 'race', n: 1 }), JSON.stringify({ type: 'race', n: 2 })];
    const answers = await Promise.all(
      bodies.map((b) => post(`${gw.url}/hooks/deploys`, b, signed(b, id))),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    const taken = bodies[answers.findIndex((a) => a.status === 202)]!;
    const [event] = await db.query<{ raw: unknown; body: Buffer }>(
      `SELECT e.raw, r.body FROM "InboundEvent" e JOIN "InboundRawBody" r USING (channel, "externalId")
       WHERE e."externalId" = $1`,
      [`deploys:${id}`],
    );
    expect(event!.raw).toEqual(JSON.parse(taken));
    expect(event!.body.toString('utf8')).toBe(taken);
  });

  it('numbers beyond double precision: the signed bytes are kept exactly and the operator API shows them', async () => {
    const body = Buffer.from(
      '{ "type":"big",  "huge":1e400, "int":123456789012345678901234567890, "tiny":1e-400 }',
    );
    const res = await post(`${gw.url}/hooks/deploys`, body, signed(body, nextId()));
    expect(res.status).toBe(202);
    const [stored] = await db.query<{ body: Buffer }>(
      `SELECT r.body FROM "InboundEvent" e JOIN "InboundRawBody" r USING (channel, "externalId") WHERE e.id = $1`,
      [res.json.eventId],
    );
    expect(stored!.body.equals(body)).toBe(true);
    const shown = await fetch(`${gw.url}/api/v1/events/${res.json.eventId}`, {
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(shown.status).toBe(200);
    expect(((await shown.json()) as { rawBody?: string }).rawBody).toBe(body.toString('utf8'));
    // The built CLI prints the same bytes, and nothing else, with --raw.
    const run = await runCli(['events', 'show', res.json.eventId, '--raw'], {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      WORKGATE_URL: gw.url,
      WORKGATE_TOKEN: API_TOKEN,
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toBe(body.toString('utf8'));
  });

  describe('errors raised before routing are problem+json with a stable code', () => {
    const cases: Array<[string, () => string, number, string]> = [
      ['an unknown route', () => 'GET /nothing/here HTTP/1.1\r\nhost: x', 404, 'not_found'],
      [
        'a malformed percent-encoding in the path',
        () => 'GET /hooks/%E0%A4%A HTTP/1.1\r\nhost: x',
        400,
        'bad_request',
      ],
      [
        'a header section larger than the server takes',
        () => `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(64 * 1024)}`,
        431,
        'header_too_large',
      ],
      [
        'a method the route does not take',
        () => 'DELETE /hooks/deploys HTTP/1.1\r\nhost: x',
        405,
        'method_not_allowed',
      ],
      [
        'a content type that does not parse',
        () =>
          'POST /hooks/deploys HTTP/1.1\r\nhost: x\r\ncontent-type: @@@\r\ncontent-length: 2\r\n\r\n{}',
        415,
        'unsupported_media_type',
      ],
      [
        'a body Fastify cannot frame (content-length and chunked together)',
        () =>
          'POST /hooks/deploys HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\ntransfer-encoding: chunked',
        400,
        'bad_request',
      ],
    ];
    it.each(cases.map(([label, head, status, code]) => [label, status, code, head] as const))(
      '%s → %i %s',
      async (_label, status, code, head) => {
        const res = await expectNothingWritten(() => rawRequest(gw.url, head()));
        let json: unknown;
        try {
          json = JSON.parse(res.body);
        } catch {
          json = { unparsed: res.body };
        }
        expectProblem(res, json, status, code);
      },
    );
  });
});
