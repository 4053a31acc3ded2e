import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signButtonToken } from '@app/security';
import { FIXTURES as SHARED_FIXTURES } from '@test/paths';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer, slackHeaders, slackInteractionBody } from '@test/slack-api';
import { until } from '@test/until';

const FIXTURES = join(SHARED_FIXTURES, 'slack');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

const SIGNING_SECRET = 'e2e-slack-signing-secret-TEST-ONLY';
const BUTTON_SECRET = 'e2e-button-secret-TEST-ONLY-0001';
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Slack: POST /slack/events and /slack/interactivity', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let api: SlackApiServer;
  let n = 0;

  /** A fixture event with fresh ids, so each test has its own event and conversation. */
  function mention(text = '<@U0FAKE02> deploy staging please', edit?: (doc: any) => void) {
    const doc = fixture('event-app-mention.json');
    n += 1;
    doc.event_id = `Ev0E2E${Date.now()}${n}`;
    doc.event.ts = `${nowSeconds()}.${String(n).padStart(6, '0')}`;
    doc.event.event_ts = doc.event.ts;
    doc.event.text = text;
    edit?.(doc);
    return doc;
  }

  function sendEvent(
    doc: unknown,
    opts: Parameters<typeof slackHeaders>[2] = {},
    secret = SIGNING_SECRET,
  ) {
    const body = JSON.stringify(doc);
    return post(`${gw.url}/slack/events`, body, slackHeaders(body, secret, opts));
  }

  async function count(table: 'InboundEvent' | 'Work'): Promise<number> {
    const [row] = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${table}"`);
    return Number(row!.n);
  }

  async function eventByExternalId(externalId: string) {
    const rows = await db.query<any>('SELECT * FROM "InboundEvent" WHERE "externalId" = $1', [
      externalId,
    ]);
    return rows[0];
  }

  beforeAll(async () => {
    db = await createTestSchema('slack_e2e');
    prefix = testQueuePrefix();
    api = await new SlackApiServer().start();
    api.tokens.set('xoxb-acme', { teamId: 'T0FAKE01', team: 'Workgate Fake' });
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          chat: { buttonSecrets: [BUTTON_SECRET] },
          slack: {
            apiUrl: api.url,
            workspaces: {
              acme: {
                teamId: 'T0FAKE01',
                botToken: 'xoxb-acme',
                signingSecret: SIGNING_SECRET,
                workflow: 'triage',
              },
              quiet: {
                teamId: 'T0QUIET1',
                botToken: 'xoxb-quiet',
                signingSecret: SIGNING_SECRET,
              },
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

  it('answers url_verification with the challenge', async () => {
    const res = await sendEvent(fixture('event-url-verification.json'));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      challenge: 'fakeChallenge0123456789abcdefghijklmnopqrstuvwxyzABCD',
    });
  });

  it('refuses forged, missing and out-of-window signatures with 401 problem+json, writing nothing', async () => {
    const before = await count('InboundEvent');
    const doc = mention();
    const body = JSON.stringify(doc);
    const cases: Array<[string, Record<string, string>, string]> = [
      ['forged', slackHeaders(body, 'not-the-signing-secret'), 'signature_invalid'],
      ['missing', { 'content-type': 'application/json' }, 'signature_missing'],
      [
        'stale (301 s old)',
        slackHeaders(body, SIGNING_SECRET, { at: nowSeconds() - 301 }),
        'timestamp_out_of_tolerance',
      ],
      [
        'from the future (301 s ahead)',
        slackHeaders(body, SIGNING_SECRET, { at: nowSeconds() + 301 }),
        'timestamp_out_of_tolerance',
      ],
    ];
    for (const [label, headers, code] of cases) {
      const res = await post(`${gw.url}/slack/events`, body, headers);
      expect({ label, status: res.status, code: res.json?.code }).toEqual({
        label,
        status: 401,
        code,
      });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // Signed over different bytes than sent (a re-serialised body).
    const pretty = JSON.stringify(doc, null, 2);
    const tampered = await post(
      `${gw.url}/slack/events`,
      pretty,
      slackHeaders(body, SIGNING_SECRET),
    );
    expect(tampered.status).toBe(401);
    expect(await count('InboundEvent')).toBe(before);
    expect(await eventByExternalId(`acme:${doc.event_id}`)).toBeUndefined();
  });

  it('refuses a wrong content type with 415 before reading the body', async () => {
    const body = JSON.stringify(mention());
    const res = await post(
      `${gw.url}/slack/events`,
      body,
      slackHeaders(body, SIGNING_SECRET, { contentType: 'text/plain' }),
    );
    expect(res.status).toBe(415);
  });

  it('an app mention opens a work on the thread the mention starts', async () => {
    const doc = mention('<@U0FAKE02> deploy staging please');
    const res = await sendEvent(doc);
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([
      expect.objectContaining({ decision: 'opened', duplicate: false }),
    ]);
    const event = await eventByExternalId(`acme:${doc.event_id}`);
    expect(event).toMatchObject({
      channel: 'slack',
      source: 'acme',
      decision: 'opened',
      conversationKey: `slack:acme:C0FAKE01:${doc.event.ts}`,
      actor: { id: 'slack:T0FAKE01:U0FAKE01' },
    });
    expect(event.body.text).toBe('deploy staging please');
    const [work] = await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [event.workId]);
    expect(work).toMatchObject({
      kind: 'triage',
      state: 'QUEUED',
      conversationKey: `slack:acme:C0FAKE01:${doc.event.ts}`,
    });

    // A reply in that thread reaches the same conversation (the work is busy: its inbox).
    const reply = fixture('event-message-thread-reply.json');
    reply.event_id = `${doc.event_id}r`;
    reply.event.thread_ts = doc.event.ts;
    reply.event.ts = `${doc.event.ts}9`;
    const replied = await sendEvent(reply);
    expect(replied.status).toBe(200);
    const replyRow = await eventByExternalId(`acme:${reply.event_id}`);
    expect(replyRow).toMatchObject({
      conversationKey: `slack:acme:C0FAKE01:${doc.event.ts}`,
      workId: work.id,
    });
    expect(await count('Work')).toBeGreaterThanOrEqual(1);
  });

  it('a retry that arrives while the original is still in flight: one event, one work, ack only after the commit', async () => {
    const doc = mention('<@U0FAKE02> run the nightly report');
    const worksBefore = await count('Work');
    // Hold the original inside its transaction: it has inserted its InboundEvent and its
    // Work (uncommitted) and waits for this lock to write the Work's timeline. Its retry
    // arrives meanwhile.
    const blocker = await db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE "WorkEvent" IN EXCLUSIVE MODE');
      let originalAnswered = false;
      const original = sendEvent(doc).then((res) => {
        originalAnswered = true;
        return res;
      });
      // Waiting for this schema's WorkEvent table: only this test locks it.
      const waitingOn = async () =>
        (
          await blocker.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks
             WHERE NOT granted AND locktype = 'relation' AND relation = '"WorkEvent"'::regclass
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows[0]!.n;
      await until(
        async () => (await waitingOn()) >= 1,
        'the original to wait inside its transaction',
      );

      const retry = sendEvent(doc, { retryNum: 1 });
      await until(
        async () =>
          (
            await blocker.query<{ n: number }>(
              // The ingest's per-conversation advisory lock (other test files run in parallel).
              `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND locktype = 'advisory'
                 AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
              [`slack:acme:C0FAKE01:${doc.event.ts}`],
            )
          ).rows[0]!.n >= 1,
        'the retry to wait behind the original (same conversation)',
      );
      // Nothing is acknowledged before the commit.
      expect(originalAnswered).toBe(false);
      await blocker.query('COMMIT');

      const [first, second] = await Promise.all([original, retry]);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.json.results[0]).toMatchObject({ decision: 'opened', duplicate: false });
      expect(second.json.results[0]).toMatchObject({
        eventId: first.json.results[0].eventId,
        workId: first.json.results[0].workId,
        duplicate: true,
      });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    const rows = await db.query('SELECT id FROM "InboundEvent" WHERE "externalId" = $1', [
      `acme:${doc.event_id}`,
    ]);
    expect(rows).toHaveLength(1);
    expect(await count('Work')).toBe(worksBefore + 1);

    // A late retry (Slack's second, a minute later) is a duplicate as well.
    const late = await sendEvent(doc, { retryNum: 2 });
    expect(late.json.results[0]).toMatchObject({ duplicate: true });
    expect(await count('Work')).toBe(worksBefore + 1);
  });

  it('validly signed events that route nowhere are answered 200 and recorded as dropped', async () => {
    // A workspace that opens no workflow.
    const quiet = fixture('event-message-im.json');
    quiet.team_id = 'T0QUIET1';
    quiet.event.team = 'T0QUIET1';
    quiet.event_id = `Ev0QUIET${Date.now()}`;
    const res = await sendEvent(quiet);
    expect(res.status).toBe(200);
    expect(await eventByExternalId(`quiet:${quiet.event_id}`)).toMatchObject({
      decision: 'dropped',
      workId: null,
    });

    // A team nobody configured, signed by our app.
    const stranger = mention('<@U0FAKE02> hello', (d) => {
      d.team_id = 'T0STRANGE';
      d.event.team = 'T0STRANGE';
    });
    const res2 = await sendEvent(stranger);
    expect(res2.status).toBe(200);
    expect(await eventByExternalId(`T0STRANGE:${stranger.event_id}`)).toMatchObject({
      source: 'T0STRANGE',
      decision: 'dropped',
    });
  });

  it('ignores the bot’s own messages: 200, nothing written', async () => {
    const before = await count('InboundEvent');
    const own = fixture('event-message-im.json');
    own.event_id = `Ev0OWN${Date.now()}`;
    own.event.bot_id = 'B0FAKE01';
    const res = await sendEvent(own);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ kind: 'ingested', results: [] });
    expect(await count('InboundEvent')).toBe(before);
  });

  describe('interactivity (block_actions)', () => {
    const waitId = '01890000-0000-7000-8000-0000000000ee';

    function press(value: string, actionTs = `${nowSeconds()}.${++n}`) {
      const doc = fixture('interactivity-block-actions.json');
      doc.actions[0].value = value;
      doc.actions[0].action_ts = actionTs;
      return doc;
    }

    function sendPress(doc: unknown, contentType = 'application/x-www-form-urlencoded') {
      const body = slackInteractionBody(doc);
      return post(
        `${gw.url}/slack/interactivity`,
        body,
        slackHeaders(body, SIGNING_SECRET, { contentType }),
      );
    }

    it('a forged button token is refused with 401 and nothing is ingested', async () => {
      const before = await count('InboundEvent');
      const forged = signButtonToken(
        { kind: 'answer', waitId, choice: 1 },
        'not-the-button-secret-0',
      );
      for (const value of [forged, 'wk_fake_0001']) {
        const res = await sendPress(press(value));
        expect(res.status).toBe(401);
        expect(res.json.code).toBe('signature_invalid');
      }
      expect(await count('InboundEvent')).toBe(before);
    });

    it('a signed press is ingested once per click, with the verified button', async () => {
      const doc = press(signButtonToken({ kind: 'answer', waitId, choice: 1 }, BUTTON_SECRET));
      const res = await sendPress(doc);
      expect(res.status).toBe(200);
      expect(res.text).toBe('');
      const externalId = `acme:action:C0FAKE01:1767225900.000500:approve:${doc.actions[0].action_ts}`;
      const row = await eventByExternalId(externalId);
      expect(row).toBeDefined();
      expect(row.body).toMatchObject({ choice: 1, actionId: 'approve' });
      // The same click delivered again writes nothing.
      const before = await count('InboundEvent');
      expect((await sendPress(doc)).status).toBe(200);
      expect(await count('InboundEvent')).toBe(before);
    });

    it('must be form-encoded', async () => {
      const res = await sendPress(
        press(signButtonToken({ kind: 'answer', waitId, choice: 0 }, BUTTON_SECRET)),
        'application/json',
      );
      expect(res.status).toBe(415);
    });
  });
});
