import { SCHEMES } from '@app/channels/webhook';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { spawnApp, type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SECRET = 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=';

/** The built gateway as a real process: JSON logs, readiness, graceful shutdown. */
describe('gateway process', () => {
  let db: TestSchema;
  let prefix: string;
  let gateway: AppProcess;
  let url: string;

  beforeAll(async () => {
    db = await createTestSchema('lifecycle');
    prefix = testQueuePrefix();
    const dir = mkdtempSync(join(tmpdir(), 'wg-'));
    writeFileSync(
      join(dir, 'workgate.config.yaml'),
      `webhooks:\n  sources:\n    ci:\n      scheme: standard-webhooks\n      secrets: ["\${CI_SECRET}"]\n      workflow: build\n`,
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
    const listening = await gateway.waitForLog(
      (l) => l.msg === 'gateway listening',
      'that it is listening',
    );
    url = String(listening.url);
  });

  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    await deleteKeys(prefix);
    await db?.drop();
  });

  const deliver = (id: string) => {
    const body = JSON.stringify({ id });
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody: Buffer.from(body),
      secret: SECRET,
      nowSeconds: Math.floor(Date.now() / 1000),
      id,
    });
    // A request that reaches a closing server may get no answer at all; that is a refusal too.
    return fetch(`${url}/hooks/ci`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(3_000),
    })
      .then(async (res) => ({
        status: res.status,
        json: (await res.json()) as { eventId?: string },
      }))
      .catch((err: Error) => ({ status: 0, json: { error: err.message } as { eventId?: string } }));
  };

  it('is ready when PostgreSQL and Redis answer, and logs JSON lines with the event and work ids', async () => {
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      checks: { postgres: { ok: true }, redis: { ok: true } },
    });
    const res = await deliver('evt_log_1');
    expect(res.status).toBe(202);
    const line = await gateway.waitForLog((l) => l.eventId === res.json.eventId, 'the ingest line');
    expect(line).toMatchObject({
      level: 'info',
      app: 'gateway',
      decision: 'opened',
      workId: expect.any(String),
    });
  });

  it('on SIGTERM finishes what it accepted, refuses the rest, and exits 0', async () => {
    // One request is mid-upload when the signal arrives: it must still be answered 202.
    const body = JSON.stringify({ id: 'evt_inflight' });
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody: Buffer.from(body),
      secret: SECRET,
      nowSeconds: Math.floor(Date.now() / 1000),
      id: 'evt_inflight',
    });
    const target = new URL(`${url}/hooks/ci`);
    const inflightReq = httpRequest({
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
    const inflight = new Promise<{ status: number; json: { eventId?: string } }>(
      (resolve, reject) => {
        inflightReq.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode!, json: JSON.parse(text) as { eventId?: string } }),
          );
        });
        inflightReq.on('error', reject);
      },
    );
    inflightReq.write(body.slice(0, 5));
    await until(
      () => inflightReq.socket?.writable && (inflightReq.socket.bytesWritten ?? 0) > 0,
      'the first bytes to be on the wire',
    );

    const ids = Array.from({ length: 60 }, (_, i) => `evt_term_${i}`);
    const pending = ids.map((id) => deliver(id));
    gateway.child.kill('SIGTERM');
    await gateway.waitForLog((l) => l.msg === 'shutting down', 'that it is shutting down');
    inflightReq.end(body.slice(5));
    expect(await inflight).toMatchObject({ status: 202 });
    const late = ids.slice(0, 10).map((id) => deliver(`${id}_late`));
    const answers = [await inflight, ...(await Promise.all([...pending, ...late]))];
    const exit = await gateway.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    // Every answer is either an acknowledgement backed by a committed row, or a refusal.
    const acknowledged = answers.filter((a) => a.status === 202);
    expect(answers.every((a) => a.status === 202 || a.status === 503 || a.status === 0)).toBe(true);
    for (const a of acknowledged) {
      const rows = await db.query('SELECT 1 FROM "InboundEvent" WHERE id = $1', [a.json.eventId]);
      expect(rows).toHaveLength(1);
    }
    expect(gateway.logs.some((l) => l.msg === 'shutting down')).toBe(true);
  }, 20_000);
});
