import { randomUUID } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import { ApiTokenRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { jobIdsIn } from '@test/queue';
import { deleteKeys, testQueuePrefix } from '@test/redis';

const BOOTSTRAP = 'bootstrap-token-for-the-api-e2e-test-only-0123456789';

interface SeedWork {
  id?: string;
  kind?: string;
  state?: string;
  channel?: string;
  conversationKey?: string | null;
  input?: unknown;
  createdAt?: Date;
  updatedAt?: Date;
  parentId?: string | null;
  waitReason?: string | null;
  leaseOwner?: string | null;
  leaseExpiresAt?: Date | null;
}

describe('operator API /api/v1', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let operator: string;
  let viewer: string;
  let revoked: string;

  async function seedWork(w: SeedWork = {}): Promise<string> {
    const id = w.id ?? randomUUID();
    await db.query(
      `INSERT INTO "Work" (id, kind, state, "sourceType", "conversationKey", input, "retryPolicy", attempt,
         "createdAt", "updatedAt", "parentId", "waitReason", "leaseOwner", "leaseExpiresAt")
       VALUES ($1, $2, $3, $4, $5, $6, '{}', 1, $7, $8, $9, $10, $11, $12)`,
      [
        id,
        w.kind ?? 'demo',
        w.state ?? 'QUEUED',
        w.channel ?? 'webhook',
        w.conversationKey ?? null,
        JSON.stringify(w.input ?? {}),
        w.createdAt ?? new Date(),
        w.updatedAt ?? w.createdAt ?? new Date(),
        w.parentId ?? null,
        w.waitReason ?? null,
        w.leaseOwner ?? null,
        w.leaseExpiresAt ?? null,
      ],
    );
    return id;
  }

  async function api(
    path: string,
    opts: { token?: string | null; method?: string; body?: unknown } = {},
  ) {
    const token = opts.token === undefined ? operator : opts.token;
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gw.url}${path}`, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, headers: res.headers, text };
  }

  const ids = (page: { items: Array<{ id: string }> }) => page.items.map((i) => i.id);

  beforeAll(async () => {
    db = await createTestSchema('api');
    prefix = testQueuePrefix();
    gw = await startGateway(
      testConfig({ schema: db.schema, prefix, env: { WORKGATE_API_TOKEN: BOOTSTRAP } }),
    );
    const tokens = gw.app.get(ApiTokenRepository);
    operator = (await tokens.create('ana', 'operator')).token;
    viewer = (await tokens.create('vic', 'viewer')).token;
    revoked = (await tokens.create('old', 'operator')).token;
    await tokens.revoke('old');
  });

  afterAll(async () => {
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  describe('auth', () => {
    let workId: string;
    beforeAll(async () => {
      workId = await seedWork({ kind: 'auth-probe', state: 'WAITING', waitReason: 'human' });
    });

    it('answers 401 problem+json with a challenge when the token is missing', async () => {
      const res = await api('/api/v1/works', { token: null });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="workgate"');
      expect(res.json).toMatchObject({ status: 401, code: 'unauthorized' });
    });

    it('checks the token before anything about the body', async () => {
      for (const [type, body] of [
        ['text/plain', 'x'],
        ['application/json', '{broken'],
      ]) {
        const res = await fetch(`${gw.url}/api/v1/works/${workId}/pause`, {
          method: 'POST',
          headers: { 'content-type': type },
          body,
        });
        expect(res.status).toBe(401);
      }
    });

    it.each([
      ['unknown', 'wg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['malformed', 'not-a-token'],
      ['revoked', () => revoked],
    ])('answers 401 invalid_token for a %s token', async (_label, token) => {
      const res = await api('/api/v1/works', {
        token: typeof token === 'function' ? token() : token,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(res.json.code).toBe('unauthorized');
    });

    it('lets a viewer read but not act (403 with insufficient_scope), and changes nothing', async () => {
      expect((await api('/api/v1/works', { token: viewer })).status).toBe(200);
      expect((await api(`/api/v1/works/${workId}`, { token: viewer })).status).toBe(200);
      for (const action of ['pause', 'resume', 'cancel', 'retry']) {
        const res = await api(`/api/v1/works/${workId}/${action}`, {
          token: viewer,
          method: 'POST',
        });
        expect(res.status).toBe(403);
        expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
        expect(res.json).toMatchObject({ code: 'forbidden', role: 'viewer' });
      }
      const forbidden = [
        api(`/api/v1/works/${workId}/rerun`, {
          token: viewer,
          method: 'POST',
          body: { fromStep: 1 },
        }),
        api(`/api/v1/works/${workId}/signal`, {
          token: viewer,
          method: 'POST',
          body: { payload: 1 },
        }),
        api(`/api/v1/outbox/${randomUUID()}/retry`, { token: viewer, method: 'POST' }),
      ];
      for (const res of await Promise.all(forbidden)) expect(res.status).toBe(403);
      const [row] = await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [
        workId,
      ]);
      expect(row!.state).toBe('WAITING');
    });

    it('lets an operator act, and records the token as the actor', async () => {
      const res = await api(`/api/v1/works/${workId}/pause`, { method: 'POST' });
      expect(res.status).toBe(200);
      expect(res.json.work).toMatchObject({ id: workId, state: 'PAUSED' });
      const [event] = await db.query<{ actor: string; type: string }>(
        'SELECT actor, type FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq DESC LIMIT 1',
        [workId],
      );
      expect(event).toEqual({ actor: 'token:ana', type: 'paused' });
    });

    it('accepts WORKGATE_API_TOKEN as the bootstrap operator', async () => {
      const res = await api(`/api/v1/works/${workId}/resume`, {
        token: BOOTSTRAP,
        method: 'POST',
        body: { reason: 'bootstrap check' },
      });
      expect(res.status).toBe(200);
      const events = await db.query<{ actor: string; type: string; data: any }>(
        'SELECT actor, type, data FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq DESC LIMIT 2',
        [workId],
      );
      expect(events).toEqual([
        {
          actor: 'token:bootstrap',
          type: 'operator_note',
          data: { event: 'resumed', reason: 'bootstrap check' },
        },
        expect.objectContaining({ actor: 'token:bootstrap', type: 'resumed' }),
      ]);
    });

    it('records when a token was last used', async () => {
      const [row] = await db.query<{ lastUsedAt: Date | null }>(
        `SELECT "lastUsedAt" FROM "ApiToken" WHERE name = 'vic'`,
      );
      expect(row!.lastUsedAt).toBeInstanceOf(Date);
    });

    it('leaves health, webhooks and the OpenAPI document outside the API auth', async () => {
      expect((await fetch(`${gw.url}/health/live`)).status).toBe(200);
      expect((await fetch(`${gw.url}/api/v1/openapi.json`)).status).toBe(200);
      // An unknown webhook source is the webhook controller's own 404, not a 401.
      const hook = await fetch(`${gw.url}/hooks/nope`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(hook.status).toBe(404);
    });
  });

  describe('GET /api/v1/works filters', () => {
    const base = Date.parse('2031-03-01T00:00:00.000Z');
    const at = (minutes: number) => new Date(base + minutes * 60_000);
    const w: Record<string, string> = {};

    beforeAll(async () => {
      w.a = await seedWork({
        kind: 'f-deploy',
        state: 'WAITING',
        channel: 'webhook',
        conversationKey: 'conv-1',
        input: { ref: 'Release-42', note: '100% done_ok' },
        createdAt: at(0),
        updatedAt: at(50),
      });
      w.b = await seedWork({
        kind: 'f-deploy',
        state: 'FAILED',
        channel: 'api',
        conversationKey: 'conv-2',
        input: { ref: 'hotfix-7' },
        createdAt: at(10),
        updatedAt: at(20),
      });
      w.c = await seedWork({
        kind: 'f-triage',
        state: 'COMPLETED',
        channel: 'slack',
        conversationKey: 'conv-1',
        input: { text: 'release notes please' },
        createdAt: at(20),
        updatedAt: at(30),
      });
      w.d = await seedWork({
        kind: 'f-triage',
        state: 'QUEUED',
        channel: 'telegram',
        input: { text: 'hello' },
        createdAt: at(30),
        updatedAt: at(40),
      });
    });

    // Every case is scoped to this block's kinds or window so other seeded works do not interfere.
    const window = `createdFrom=${encodeURIComponent('2031-03-01T00:00:00Z')}&createdTo=${encodeURIComponent('2031-03-02T00:00:00Z')}`;

    it.each([
      ['state', 'state=WAITING', ['a']],
      ['several states, comma-separated', 'state=FAILED,COMPLETED', ['c', 'b']],
      ['several states, repeated', 'state=FAILED&state=QUEUED', ['d', 'b']],
      ['kind', 'kind=f-triage', ['d', 'c']],
      ['channel', 'channel=slack', ['c']],
      ['conversation', 'conversation=conv-1', ['c', 'a']],
      [
        'createdFrom (inclusive)',
        `createdFrom=${at(10).toISOString()}&createdTo=${at(60).toISOString()}`,
        ['d', 'c', 'b'],
      ],
      [
        'createdTo (exclusive)',
        `createdFrom=${at(0).toISOString()}&createdTo=${at(10).toISOString()}`,
        ['a'],
      ],
      ['updatedFrom', `updatedFrom=${at(40).toISOString()}`, ['d', 'a']],
      ['updatedTo', `updatedTo=${at(30).toISOString()}`, ['b']],
      ['q, case-insensitive', 'q=RELEASE', ['c', 'a']],
      ['q with LIKE characters taken literally', 'q=100%25%20done_ok', ['a']],
      ['q that matches nothing', 'q=100%25done', []],
      ['filters combined', 'kind=f-deploy&channel=api&state=FAILED', ['b']],
    ])('filters by %s', async (_label, query, expected) => {
      const scoped = query.startsWith('createdFrom=') ? query : `${window}&${query}`;
      const res = await api(`/api/v1/works?${scoped}`);
      expect(res.status).toBe(200);
      expect(ids(res.json)).toEqual(expected.map((k) => w[k]));
      expect(res.json.nextCursor).toBeNull();
    });

    it('answers WorkSummary items with the documented fields', async () => {
      const res = await api(`/api/v1/works?${window}&state=WAITING`);
      expect(res.json.items[0]).toEqual({
        id: w.a,
        kind: 'f-deploy',
        title: null,
        state: 'WAITING',
        attempt: 1,
        channel: 'webhook',
        conversationKey: 'conv-1',
        waitReason: null,
        createdAt: at(0).toISOString(),
        updatedAt: at(50).toISOString(),
        runAfter: null,
        parentId: null,
        costUsd: 0,
      });
    });

    it.each([
      ['an unknown state', 'state=SLEEPING', 'state.0'],
      ['a limit over 200', 'limit=201', 'limit'],
      ['a limit of 0', 'limit=0', 'limit'],
      ['a date that is not ISO 8601', 'createdFrom=yesterday', 'createdFrom'],
      ['an unknown parameter', 'states=QUEUED', ''],
      ['a cursor it did not make', 'cursor=bm9wZQ', 'cursor'],
    ])('refuses %s with 400 validation_failed', async (_label, query, path) => {
      const res = await api(`/api/v1/works?${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.json.code).toBe('validation_failed');
      expect(res.json.errors.map((e: any) => e.path)).toContain(path);
    });
  });

  describe('pagination', () => {
    it('stays stable while newer works are inserted: no duplicates, no gaps', async () => {
      const kind = 'pg-stable';
      const start = Date.parse('2032-01-01T00:00:00.000Z');
      const originals: Array<{ id: string; createdAt: number }> = [];
      for (let i = 0; i < 45; i++) {
        // Every third shares its createdAt with the previous one: the id breaks the tie.
        const createdAt = start + Math.floor(i - (i % 3 === 2 ? 1 : 0)) * 1000;
        originals.push({ id: await seedWork({ kind, createdAt: new Date(createdAt) }), createdAt });
      }
      const expected = [...originals]
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
        .map((o) => o.id);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      let inserted = 0;
      do {
        const query: string = `kind=${kind}&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
        // Newer works land while the page is read, as they would under load.
        const [res] = await Promise.all([
          api(`/api/v1/works?${query}`),
          (async () => {
            for (let k = 0; k < 3; k++, inserted++)
              await seedWork({ kind, createdAt: new Date(start + 3_600_000 + inserted * 1000) });
          })(),
        ]);
        expect(res.status).toBe(200);
        seen.push(...ids(res.json));
        cursor = res.json.nextCursor;
        pages++;
      } while (cursor && pages < 50);

      const fromOriginals = seen.filter((id) => expected.includes(id));
      expect(new Set(seen).size).toBe(seen.length);
      expect(fromOriginals).toEqual(expected);
      expect(inserted).toBeGreaterThan(0);
    });

    it('returns a null cursor on the last page', async () => {
      const kind = 'pg-exact';
      for (let i = 0; i < 4; i++) await seedWork({ kind });
      const first = await api(`/api/v1/works?kind=${kind}&limit=2`);
      expect(first.json.nextCursor).toEqual(expect.any(String));
      const second = await api(
        `/api/v1/works?kind=${kind}&limit=2&cursor=${first.json.nextCursor}`,
      );
      expect(second.json.items).toHaveLength(2);
      const third = await api(
        `/api/v1/works?kind=${kind}&limit=2&cursor=${second.json.nextCursor}`,
      );
      expect(third.json).toEqual({ items: [], nextCursor: null });
    });
  });

  describe('GET /api/v1/works/:id', () => {
    it('returns the work in full: timeline, steps, waits, inbox, model calls, cost, parent, children', async () => {
      const parent = await seedWork({
        kind: 'detail-parent',
        state: 'WAITING',
        waitReason: 'child',
      });
      const id = await seedWork({
        kind: 'detail',
        state: 'WAITING',
        waitReason: 'human',
        parentId: parent,
        input: { ask: 'ship?' },
      });
      const child = await seedWork({ kind: 'detail-child', parentId: id });
      await db.query(
        `INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at) VALUES
           ($1, 1, 'created', '{"kind":"detail"}', 'webhook:deploys', '2031-05-01T10:00:00Z'),
           ($1, 2, 'waiting', '{"waitReason":"human"}', 'worker:w1', '2031-05-01T10:00:02Z')`,
        [id],
      );
      const stepId = randomUUID();
      await db.query(
        `INSERT INTO "Step" (id, "workId", seq, name, type, "idempotencyKey", status, input, output, attempt,
           "startedAt", "finishedAt")
         VALUES ($1, $2, 1, 'plan', 'task', $3, 'completed', '{"n":1}', '{"plan":"A"}', 1,
           '2031-05-01T10:00:00.000Z', '2031-05-01T10:00:01.250Z'),
                ($4, $2, 2, 'ask', 'wait', $5, 'running', NULL, NULL, 1, '2031-05-01T10:00:01.300Z', NULL)`,
        [stepId, id, `${id}:1`, randomUUID(), `${id}:2`],
      );
      const waitId = randomUUID();
      await db.query(
        `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, expects, "timeoutAt", "onTimeout", escalation, "escalationRung")
         VALUES ($1, $2, 2, 'human', 'open', '{"enum":["yes","no"]}', '2031-05-01T11:00:00Z', 'escalate',
           '[{"afterMs":900000,"action":"remind"},{"afterMs":3600000,"action":"default","value":"no"}]', 1)`,
        [waitId, id],
      );
      const inboxId = randomUUID();
      await db.query(
        `INSERT INTO "InboundEvent" (id, channel, source, "externalId", raw, body, decision, reason, "workId")
         VALUES ($1, 'webhook', 'ci', $2, '{}', '{"ok":true}', 'inbox', 'the work is busy', $3),
                ($4, 'webhook', 'ci', $5, '{}', '{"ok":false}', 'inbox', 'taken', $3)`,
        [inboxId, `ci:${inboxId}`, id, randomUUID(), `ci:${randomUUID()}`],
      );
      await db.query(`UPDATE "InboundEvent" SET "consumedAt" = now() WHERE reason = 'taken'`);
      await db.query(
        `INSERT INTO "ModelCall" (id, "workId", "stepId", provider, model, "promptHash", "inputTokens", "outputTokens", "costUsd", "latencyMs", "createdAt")
         VALUES ($1, $2, $3, 'openai', 'gpt-x', 'h1', 100, 20, 0.012500, 300, '2031-05-01T10:00:01Z'),
                ($4, $2, NULL, 'openai', 'gpt-x', 'h2', 50, 10, 0.002500, 200, '2031-05-01T10:00:02Z')`,
        [randomUUID(), id, stepId, randomUUID()],
      );

      const res = await api(`/api/v1/works/${id}`, { token: viewer });
      expect(res.status).toBe(200);
      const d = res.json;
      expect(d.work).toMatchObject({
        id,
        kind: 'detail',
        state: 'WAITING',
        input: { ask: 'ship?' },
        parentId: parent,
        costUsd: 0.015,
      });
      expect(d.costUsd).toBeCloseTo(0.015, 6);
      expect(d.timeline).toEqual([
        {
          seq: 1,
          type: 'created',
          data: { kind: 'detail' },
          actor: 'webhook:deploys',
          at: '2031-05-01T10:00:00.000Z',
        },
        {
          seq: 2,
          type: 'waiting',
          data: { waitReason: 'human' },
          actor: 'worker:w1',
          at: '2031-05-01T10:00:02.000Z',
        },
      ]);
      expect(d.steps).toEqual([
        expect.objectContaining({
          seq: 1,
          name: 'plan',
          status: 'completed',
          input: { n: 1 },
          output: { plan: 'A' },
          durationMs: 1250,
        }),
        expect.objectContaining({ seq: 2, name: 'ask', status: 'running', durationMs: null }),
      ]);
      expect(d.waits).toEqual([
        expect.objectContaining({
          id: waitId,
          type: 'human',
          status: 'open',
          expects: { enum: ['yes', 'no'] },
          timeoutAt: '2031-05-01T11:00:00.000Z',
          escalationRung: 1,
          escalation: [
            { afterMs: 900000, action: 'remind' },
            { afterMs: 3600000, action: 'default', value: 'no' },
          ],
        }),
      ]);
      expect(d.inbox.map((e: any) => e.id)).toEqual([inboxId]);
      expect(d.modelCalls).toHaveLength(2);
      expect(d.modelCalls[0]).toMatchObject({ model: 'gpt-x', inputTokens: 100, costUsd: 0.0125 });
      expect(d.parent).toMatchObject({ id: parent, kind: 'detail-parent' });
      expect(d.children.map((c: any) => c.id)).toEqual([child]);
    });

    it('answers 404 for an unknown work and 400 for an id that is not a UUID', async () => {
      const missing = await api(`/api/v1/works/${randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.json.code).toBe('not_found');
      const bad = await api('/api/v1/works/not-a-uuid');
      expect(bad.status).toBe(400);
      expect(bad.json.code).toBe('validation_failed');
    });
  });

  describe('GET /api/v1/events', () => {
    const evs: Record<string, string> = {};
    const base = Date.parse('2033-02-02T00:00:00.000Z');
    let workId: string;

    beforeAll(async () => {
      workId = await seedWork({ kind: 'events-target' });
      const rows: Array<[string, string, string, string | null, number]> = [
        ['e1', 'webhook', 'opened', workId, 0],
        ['e2', 'slack', 'dropped', null, 1],
        ['e3', 'webhook', 'resumed', workId, 2],
        ['e4', 'telegram', 'inbox', null, 3],
      ];
      for (const [key, channel, decision, work, minute] of rows) {
        evs[key] = randomUUID();
        await db.query(
          `INSERT INTO "InboundEvent" (id, channel, source, "externalId", raw, body, decision, reason, "workId", "receivedAt")
           VALUES ($1, $2, 'src', $3, '{"raw":true}', '{}', $4, $5, $6, $7)`,
          [
            evs[key],
            channel,
            `x:${evs[key]}`,
            decision,
            `because ${key}`,
            work,
            new Date(base + minute * 60_000),
          ],
        );
      }
    });

    const window = `from=${encodeURIComponent('2033-02-02T00:00:00Z')}&to=${encodeURIComponent('2033-02-03T00:00:00Z')}`;

    it.each([
      ['no filter', '', ['e4', 'e3', 'e2', 'e1']],
      ['channel', 'channel=webhook', ['e3', 'e1']],
      ['decision', 'decision=dropped,inbox', ['e4', 'e2']],
      ['workId', 'workId=WORK', ['e3', 'e1']],
      ['from', `from=${new Date(base + 2 * 60_000).toISOString()}`, ['e4', 'e3']],
      [
        'to',
        `from=${new Date(base).toISOString()}&to=${new Date(base + 60_000).toISOString()}`,
        ['e1'],
      ],
    ])('filters by %s', async (_label, query, expected) => {
      const q = query.startsWith('from=') ? query : `${window}&${query}`;
      const res = await api(`/api/v1/events?${q.replace('WORK', workId)}`);
      expect(res.status).toBe(200);
      expect(ids(res.json)).toEqual(expected.map((k) => evs[k]));
      if (expected.length) expect(res.json.items[0].reason).toBe(`because ${expected[0]}`);
    });

    it('pages with a cursor and shows one event with its raw payload', async () => {
      const first = await api(`/api/v1/events?${window}&limit=3`);
      const second = await api(`/api/v1/events?${window}&limit=3&cursor=${first.json.nextCursor}`);
      expect([...ids(first.json), ...ids(second.json)]).toEqual(
        ['e4', 'e3', 'e2', 'e1'].map((k) => evs[k]),
      );
      const one = await api(`/api/v1/events/${evs.e2}`);
      expect(one.json).toMatchObject({ id: evs.e2, decision: 'dropped', raw: { raw: true } });
      expect((await api(`/api/v1/events/${randomUUID()}`)).status).toBe(404);
    });
  });

  describe('leases, outbox, stats and queues', () => {
    it('lists running works with their leases and flags the expired ones', async () => {
      const live = await seedWork({
        kind: 'lease-live',
        state: 'RUNNING',
        leaseOwner: 'worker-a',
        leaseExpiresAt: new Date(Date.now() + 60_000),
      });
      const dead = await seedWork({
        kind: 'lease-dead',
        state: 'RUNNING',
        leaseOwner: 'worker-b',
        leaseExpiresAt: new Date(Date.now() - 60_000),
      });
      const all = await api('/api/v1/leases', { token: viewer });
      expect(all.status).toBe(200);
      const byId = Object.fromEntries(all.json.items.map((l: any) => [l.workId, l]));
      expect(byId[live]).toMatchObject({
        leaseOwner: 'worker-a',
        expired: false,
        kind: 'lease-live',
      });
      expect(byId[dead]).toMatchObject({ leaseOwner: 'worker-b', expired: true });
      const expired = await api('/api/v1/leases?expired=true');
      expect(expired.json.items.map((l: any) => l.workId)).toEqual([dead]);
    });

    it('lists the outbox by status and retries a failed message: pending again, enqueued, in the timeline', async () => {
      const workId = await seedWork({ kind: 'outbox-owner', state: 'COMPLETED' });
      const failed = randomUUID();
      const sent = randomUUID();
      await db.query(
        `INSERT INTO "Outbox" (id, "workId", channel, target, payload, "idempotencyKey", status, attempts, "lastError")
         VALUES ($1, $3, 'http', 'ops', '{"kind":"text","text":"hi"}', $4, 'failed', 10, 'HTTP 500'),
                ($2, $3, 'http', 'ops', '{"kind":"text","text":"ok"}', $5, 'sent', 1, NULL)`,
        [failed, sent, workId, `k:${failed}`, `k:${sent}`],
      );
      const list = await api(`/api/v1/outbox?status=failed&workId=${workId}`);
      expect(ids(list.json)).toEqual([failed]);
      expect(list.json.items[0]).toMatchObject({
        status: 'failed',
        attempts: 10,
        lastError: 'HTTP 500',
      });

      const retried = await api(`/api/v1/outbox/${failed}/retry`, { method: 'POST' });
      expect(retried.status).toBe(200);
      expect(retried.json).toMatchObject({ id: failed, status: 'pending', attempts: 0 });
      expect(await jobIdsIn(prefix, 'outbox')).toContain(`out:${failed}:1`);
      const [event] = await db.query<{ type: string; actor: string; data: any }>(
        `SELECT type, actor, data FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq DESC LIMIT 1`,
        [workId],
      );
      expect(event).toMatchObject({
        type: 'message_retry_requested',
        actor: 'token:ana',
        data: { outboxId: failed, previousAttempts: 10, lastError: 'HTTP 500' },
      });

      const again = await api(`/api/v1/outbox/${failed}/retry`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ code: 'invalid_transition', currentState: 'pending' });
      expect(
        (await api(`/api/v1/outbox/${sent}/retry`, { method: 'POST' })).json.currentState,
      ).toBe('sent');
      expect((await api(`/api/v1/outbox/${randomUUID()}/retry`, { method: 'POST' })).status).toBe(
        404,
      );
    });

    it('counts works by state and sums model cost per UTC day', async () => {
      const before = (await api('/api/v1/stats')).json;
      const id = await seedWork({ kind: 'stats', state: 'CANCELLED' });
      const today = new Date();
      const yesterday = new Date(today.getTime() - 86_400_000);
      await db.query(
        `INSERT INTO "ModelCall" (id, "workId", provider, model, "promptHash", "costUsd", "latencyMs", "createdAt")
         VALUES ($1, $4, 'openai', 'm', 'h', 1.25, 1, $5), ($2, $4, 'openai', 'm', 'h', 0.5, 1, $5),
                ($3, $4, 'openai', 'm', 'h', 2, 1, $6)`,
        [randomUUID(), randomUUID(), randomUUID(), id, today, yesterday],
      );
      const after = (await api('/api/v1/stats?days=2', { token: viewer })).json;
      expect(Object.keys(after.byState).sort()).toEqual([
        'CANCELLED',
        'COMPLETED',
        'FAILED',
        'PAUSED',
        'QUEUED',
        'RUNNING',
        'WAITING',
      ]);
      expect(after.byState.CANCELLED).toBe(before.byState.CANCELLED + 1);
      const day = (d: Date) => d.toISOString().slice(0, 10);
      const cost = Object.fromEntries(after.costPerDay.map((c: any) => [c.day, c.costUsd]));
      expect(cost[day(today)]).toBeCloseTo(
        1.75 + (before.costPerDay.find((c: any) => c.day === day(today))?.costUsd ?? 0),
        6,
      );
      expect(cost[day(yesterday)]).toBeGreaterThanOrEqual(2);
      const oneDay = (await api('/api/v1/stats?days=1')).json;
      expect(oneDay.costPerDay.map((c: any) => c.day)).toEqual([day(today)]);
    });

    it('reports job counts per BullMQ state for the three queues', async () => {
      const res = await api('/api/v1/queues', { token: viewer });
      expect(res.status).toBe(200);
      expect(res.json.queues.map((q: any) => q.name)).toEqual(['work', 'wake', 'outbox']);
      for (const q of res.json.queues)
        expect(q).toEqual({
          name: q.name,
          waiting: expect.any(Number),
          active: expect.any(Number),
          delayed: expect.any(Number),
          prioritized: expect.any(Number),
          waitingChildren: expect.any(Number),
          completed: expect.any(Number),
          failed: expect.any(Number),
          paused: false,
        });
      // The outbox retry above left its delivery job waiting (no worker runs here).
      expect(res.json.queues[2].waiting).toBeGreaterThanOrEqual(1);
    });
  });

  describe('OpenAPI', () => {
    let doc: any;
    beforeAll(async () => {
      const res = await fetch(`${gw.url}/api/v1/openapi.json`);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      doc = await res.json();
    });

    it('is a valid OpenAPI 3.1 document covering every endpoint', async () => {
      expect(doc.openapi).toBe('3.1.0');
      const { Validator } = await import('@seriousme/openapi-schema-validator');
      const result = await new Validator().validate(doc);
      expect(result.errors).toBeUndefined();
      expect(result.valid).toBe(true);
      const operations = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(operations).toEqual(
        expect.arrayContaining([
          'GET /api/v1/works',
          'GET /api/v1/works/{id}',
          ...['pause', 'resume', 'cancel', 'retry', 'rerun', 'signal'].map(
            (a) => `POST /api/v1/works/{id}/${a}`,
          ),
          'GET /api/v1/events',
          'GET /api/v1/queues',
          'GET /api/v1/leases',
          'GET /api/v1/outbox',
          'POST /api/v1/outbox/{id}/retry',
          'GET /api/v1/stats',
          'GET /api/v1/schedules',
          'POST /api/v1/schedules',
          'GET /api/v1/schedules/{name}',
          'POST /api/v1/schedules/{name}/pause',
          'POST /api/v1/schedules/{name}/resume',
          'DELETE /api/v1/schedules/{name}',
        ]),
      );
      expect(doc.components.securitySchemes.token).toMatchObject({
        type: 'http',
        scheme: 'bearer',
      });
    });

    it('describes the answers the API actually gives', async () => {
      const ajv = new Ajv2020({ strict: false, validateFormats: false });
      // The components as one schema document, so their `#/components/…` refs resolve.
      ajv.addSchema({ $id: 'https://workgate.test/openapi', components: doc.components });
      const check = (name: string, value: unknown) => {
        const validate = ajv.getSchema(
          `https://workgate.test/openapi#/components/schemas/${name}`,
        )!;
        const ok = validate(value);
        if (!ok) throw new Error(`${name}: ${JSON.stringify(validate.errors)}`);
      };
      const works = (await api('/api/v1/works?limit=5')).json;
      check('WorkPage', works);
      check('WorkDetail', (await api(`/api/v1/works/${works.items[0].id}`)).json);
      check('InboundEventPage', (await api('/api/v1/events')).json);
      check('Leases', (await api('/api/v1/leases')).json);
      check('OutboxPage', (await api('/api/v1/outbox')).json);
      check('Stats', (await api('/api/v1/stats')).json);
      check('Queues', (await api('/api/v1/queues')).json);
      const schedule = await api('/api/v1/schedules', {
        method: 'POST',
        body: { name: 'doc-check', workflow: 'demo', every: '1h', enabled: false },
      });
      check('Schedule', schedule.json);
      check('Schedules', (await api('/api/v1/schedules')).json);
      check('Problem', (await api('/api/v1/works?limit=0')).json);
    });

    it('serves Swagger UI', async () => {
      const res = await fetch(`${gw.url}/api/v1/docs`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('swagger-ui');
      const init = await fetch(`${gw.url}/api/v1/docs/swagger-ui-init.js`);
      expect(await init.text()).toContain('"openapi": "3.1.0"');
      const bundle = await fetch(`${gw.url}/api/v1/docs/swagger-ui-bundle.js`);
      expect(bundle.status).toBe(200);
    });
  });
});
