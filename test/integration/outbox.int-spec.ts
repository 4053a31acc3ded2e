import { defineWorkflow } from '@app/engine';
import { StandardWebhooksScheme } from '@app/channels/webhook';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { LoopbackServer } from '@test/loopback-server';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const SECRET = 'whsec_' + Buffer.from('outbox-test-secret-0123456789').toString('base64');

/** Sends one message per entry of `to`, then finishes: delivery is the outbox's job. */
const notify = defineWorkflow(
  'outbox.notify',
  async (ctx, input: { to: Array<{ channel: string; target: string }>; text: string }) => {
    for (const to of input.to) await ctx.send(to, { text: input.text });
    return { sent: input.to.length };
  },
);

describe('outbox delivery (real worker, PostgreSQL, Redis, a loopback receiver)', () => {
  let db: TestSchema;
  let prefix: string;
  let server: LoopbackServer;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestSchema('outbox');
    prefix = testQueuePrefix();
    server = await new LoopbackServer().start();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { lease: '5s', reconcileEvery: '300ms' },
          outbound: {
            retryDelay: '100ms',
            maxRetryDelay: '300ms',
            maxAttempts: 4,
            http: {
              signed: { url: `${server.url}/signed`, secret: SECRET, headers: { 'x-team': 'ops' } },
              slowlane: { url: `${server.url}/slow`, ratePerSecond: 1 },
            },
          },
        },
      }),
      [notify],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await server?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const ledger = () => ledgerOf(db);
  const outboxOf = (workId: string) =>
    db.query<any>('SELECT * FROM "Outbox" WHERE "workId" = $1 ORDER BY "createdAt", id', [workId]);
  const start = async (input: unknown) =>
    (await worker.control.start('outbox.notify', input, { actor: 'test' })).workId!;
  const settled = (workId: string, rows = 1) =>
    until(async () => {
      const all = await outboxOf(workId);
      if (all.length === rows && all.every((r) => r.status !== 'pending')) return true;
      // Thrown, so a timeout reports where each row stands.
      throw new Error(
        JSON.stringify(all.map((r) => [r.target, r.status, r.attempts, r.lastError])),
      );
    }, `the work's ${rows} outbox row(s) to be sent or failed`);

  it('keeps secrets in a target URL out of lastError and the timeline', async () => {
    const port = new URL(server.url).port;
    const target = `http://bob:hunter2@127.0.0.1:${port}/services/T1/B2/sekrit?chat=1&token=tok-abc`;
    const workId = await start({ to: [{ channel: 'http', target }], text: 'hi' });
    await settled(workId);
    const [row] = await outboxOf(workId);
    expect(row.status).toBe('failed');
    expect(row.lastError).toContain('[redacted]@127.0.0.1');
    const timeline = JSON.stringify(
      await db.query<any>('SELECT data FROM "WorkEvent" WHERE "workId" = $1', [workId]),
    );
    expect(timeline).toContain('[redacted]');
    for (const text of [row.lastError as string, timeline]) {
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('tok-abc');
    }
  });

  it('signs a named target with Standard Webhooks and records the delivery on the timeline', async () => {
    const workId = await start({ to: [{ channel: 'http', target: 'signed' }], text: 'héllo ✓' });
    await settled(workId);
    const [row] = await outboxOf(workId);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, lastError: null });
    const [req, ...more] = server.received.filter((r) => r.path === '/signed');
    expect(more).toEqual([]);
    expect(req!.body).toEqual({ kind: 'message', text: 'héllo ✓' });
    expect(req!.headers['idempotency-key']).toBe(row.idempotencyKey);
    expect(req!.headers['webhook-id']).toBe(row.idempotencyKey);
    expect(req!.headers['x-team']).toBe('ops');
    // The receiver's view: our own verifier accepts the signature over the exact body.
    const verdict = new StandardWebhooksScheme().verify({
      headers: req!.headers,
      rawBody: Buffer.from(req!.raw),
      secrets: [SECRET],
      toleranceSeconds: 300,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    expect(verdict.ok).toBe(true);
    const events = (await ledger().timeline(workId)).map((e) => e.type);
    expect(events).toContain('message_sent');
  });

  it('retries 503 and 429 (honouring Retry-After) and delivers once', async () => {
    let calls = 0;
    const failedAt: number[] = [];
    server.respond = (
      req,
    ): { status: number; body?: unknown; headers?: Record<string, string> } => {
      if (req.path !== '/flaky') return { status: 200 };
      calls += 1;
      if (calls === 1) return { status: 503, body: 'down' };
      if (calls === 2) {
        failedAt.push(Date.now());
        return { status: 429, headers: { 'retry-after': '1' } };
      }
      return { status: 200, headers: { 'x-message-id': 'm-42' } };
    };
    const workId = await start({
      to: [{ channel: 'http', target: `${server.url}/flaky` }],
      text: 'again',
    });
    await settled(workId);
    const [row] = await outboxOf(workId);
    expect(row).toMatchObject({ status: 'sent', attempts: 3, providerMessageId: 'm-42' });
    const hits = server.received.filter((r) => r.path === '/flaky');
    expect(hits.map((h) => h.status)).toEqual([503, 429, 200]);
    expect(new Set(hits.map((h) => h.headers['idempotency-key']))).toEqual(
      new Set([row.idempotencyKey]),
    );
    // Retry-After: 1 → the third attempt waited at least a second after the 429.
    expect(hits[2]!.at - failedAt[0]!).toBeGreaterThanOrEqual(1000);
    const types = (await ledger().timeline(workId)).map((e) => e.type);
    expect(types.filter((t) => t === 'message_retry')).toHaveLength(2);
    expect(types.filter((t) => t === 'message_sent')).toHaveLength(1);
    server.respond = () => ({ status: 200 });
  });

  it('fails a row for good on a 4xx or an unknown channel, visibly, without failing the work', async () => {
    server.respond = (req) =>
      req.path === '/gone' ? { status: 410, body: 'gone' } : { status: 200 };
    const workId = await start({
      to: [
        { channel: 'http', target: `${server.url}/gone` },
        { channel: 'pigeon', target: 'coop-7' },
        { channel: 'http', target: 'no-such-target' },
      ],
      text: 'x',
    });
    await settled(workId, 3);
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'work completes');
    const rows = await outboxOf(workId);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['failed', 1],
      ['failed', 0],
      ['failed', 1],
    ]);
    expect(rows[0].lastError).toMatch(/answered 410: "gone"/);
    expect(rows[1].lastError).toMatch(/no outbound sender for channel "pigeon"/);
    expect(rows[2].lastError).toMatch(/no outbound.http target named "no-such-target"/);
    const failed = (await ledger().timeline(workId)).filter((e) => e.type === 'message_failed');
    expect(failed).toHaveLength(3);
    expect(server.received.filter((r) => r.path === '/gone')).toHaveLength(1);
    server.respond = () => ({ status: 200 });
  });

  it('gives up after maxAttempts and says so', async () => {
    server.respond = (req) => (req.path === '/down' ? { status: 502 } : { status: 200 });
    const workId = await start({
      to: [{ channel: 'http', target: `${server.url}/down` }],
      text: 'x',
    });
    await settled(workId);
    const [row] = await outboxOf(workId);
    expect(row).toMatchObject({ status: 'failed', attempts: 4 });
    expect(row.lastError).toMatch(/gave up after 4 attempts: POST .* answered 502/);
    expect(server.received.filter((r) => r.path === '/down')).toHaveLength(4);
    server.respond = () => ({ status: 200 });
  });

  it('keeps a target under its rate limit without spending attempts', async () => {
    const workId = await start({
      to: [1, 2, 3].map(() => ({ channel: 'http', target: 'slowlane' })),
      text: 'slow',
    });
    await settled(workId, 3);
    const rows = await outboxOf(workId);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
      ['sent', 1],
    ]);
    const hits = server.received.filter((r) => r.path === '/slow').map((r) => r.at);
    expect(hits).toHaveLength(3);
    // One per second: three deliveries need three windows of the limiter.
    expect(hits[2]! - hits[0]!).toBeGreaterThanOrEqual(1900);
  });
});
