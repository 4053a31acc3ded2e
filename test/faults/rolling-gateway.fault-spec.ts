import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { SCHEMES } from '@app/channels/webhook';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { spawnApp, type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

const SECRET = 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=';

interface Answer {
  id: string;
  status: number;
  eventId?: string;
  /** Whether the test had already seen /health/ready answer 503 when this answer came. */
  afterUnready: boolean;
}

/**
 * A rolling restart of a gateway (issue 16, item 5): SIGTERM under a steady load of
 * webhook deliveries. Readiness turns 503 first while requests are still served for
 * server.drainDelay, then the listener closes with the requests in flight finished.
 * Whatever was answered 2xx is in the ledger; everything else was refused.
 */
describe('a gateway stopped by SIGTERM under load', () => {
  let db: TestSchema;
  let prefix: string;
  let gateway: AppProcess;
  let url: string;

  beforeAll(async () => {
    db = await createTestSchema('rolling_gateway');
    prefix = testQueuePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'wg-rolling-'));
    writeFileSync(
      join(dir, 'workgate.config.yaml'),
      [
        'server:',
        // Long enough that the test's readiness poll sees the 503 while it still serves.
        '  drainDelay: 3s',
        '  shutdownGrace: 10s',
        'webhooks:',
        '  sources:',
        '    ci:',
        '      scheme: standard-webhooks',
        '      secrets: ["${CI_SECRET}"]',
        '      workflow: build',
      ].join('\n'),
    );
    gateway = spawnApp('gateway', {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      REDIS_URL: TEST_REDIS_URL,
      WORKGATE_QUEUE_PREFIX: prefix,
      WORKGATE_CONFIG: join(dir, 'workgate.config.yaml'),
      CI_SECRET: SECRET,
      PORT: '0',
      HOST: '127.0.0.1',
    });
    const listening = await gateway.waitForLog((l) => l.msg === 'gateway listening', 'listening');
    url = String(listening.url);
  });

  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await deleteKeys(prefix);
    await db?.drop();
  });

  let unready = false;
  const signed = (id: string) => {
    const body = JSON.stringify({ id });
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody: Buffer.from(body),
      secret: SECRET,
      nowSeconds: Math.floor(Date.now() / 1000),
      id,
    });
    return { body, headers };
  };
  const deliver = async (id: string): Promise<Answer> => {
    const { body, headers } = signed(id);
    try {
      const res = await fetch(`${url}/hooks/ci`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
        signal: AbortSignal.timeout(5_000),
      });
      const json = (await res.json()) as { eventId?: string };
      return { id, status: res.status, eventId: json.eventId, afterUnready: unready };
    } catch {
      // A closed listener refuses the connection, or drops it unanswered: a refusal too.
      return { id, status: 0, afterUnready: unready };
    }
  };
  const status = (path: string) =>
    fetch(`${url}${path}`, { signal: AbortSignal.timeout(3_000) }).then(
      (r) => r.status,
      () => 0,
    );

  /** A delivery whose headers and first bytes are sent now, and the rest when `finish` is called. */
  function slowDelivery(id: string) {
    const { body, headers } = signed(id);
    const target = new URL(`${url}/hooks/ci`);
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...headers,
      },
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          const json = JSON.parse(text) as { eventId?: string };
          resolve({ id, status: res.statusCode!, eventId: json.eventId, afterUnready: unready });
        });
      });
      req.on('error', reject);
    });
    req.write(body.slice(0, 5));
    return { answer, finish: () => req.end(body.slice(5)), req };
  }

  it('turns unready first, serves through drainDelay, finishes in flight, and acknowledges only what it committed', async () => {
    expect(await status('/health/ready')).toBe(200);
    // In flight across the whole shutdown: its body ends only once the listener is closing.
    const slow = slowDelivery('evt_roll_slow');
    await until(
      () => slow.req.socket?.writable && (slow.req.socket.bytesWritten ?? 0) > 0,
      'the slow delivery to be on the wire',
    );
    const answers: Answer[] = [];
    let stopLoad = false;
    // Four senders, each one request after another, until the gateway refuses them.
    const senders = Array.from({ length: 4 }, async (_, s) => {
      for (let i = 0; !stopLoad; i++) {
        const answer = await deliver(`evt_roll_${s}_${i}`);
        answers.push(answer);
        if (answer.status === 0) return;
      }
    });
    await until(() => answers.filter((a) => a.status === 202).length >= 20, 'some load served');

    gateway.child.kill('SIGTERM');
    await until(async () => (await status('/health/ready')) === 503, 'ready to answer 503');
    unready = true;
    expect(await status('/health/live')).toBe(200);

    // Closing has begun once a sender is refused; the slow delivery is still answered.
    await until(() => answers.some((a) => a.status !== 202), 'a refusal: the gateway is closing');
    slow.finish();
    answers.push(await slow.answer);
    expect(answers.at(-1)).toMatchObject({ status: 202, eventId: expect.any(String) });
    const exit = await gateway.exited;
    stopLoad = true;
    await Promise.all(senders);
    expect(exit).toEqual({ code: 0, signal: null });

    // Served while draining: the balancer had drainDelay to notice before any refusal.
    expect(answers.some((a) => a.afterUnready && a.status === 202)).toBe(true);
    expect(answers.every((a) => [202, 503, 0].includes(a.status))).toBe(true);
    const acknowledged = answers.filter((a) => a.status === 202);
    const rows = await db.query<{ id: string }>(
      `SELECT id FROM "InboundEvent" WHERE id = ANY($1)`,
      [acknowledged.map((a) => a.eventId)],
    );
    expect(rows).toHaveLength(acknowledged.length);
    const lines = gateway.logs.map((l) => l.msg);
    expect(lines.indexOf('shutting down')).toBeLessThan(lines.indexOf('stopped'));
  }, 60_000);
});
