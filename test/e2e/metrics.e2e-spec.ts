import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type INestApplicationContext } from '@nestjs/common';
import pino from 'pino';
import { createWorker } from '../../apps/worker/src/worker.app';
import { SCHEMES } from '@app/channels/webhook';
import { defineWorkflow, EngineControl } from '@app/engine';
import { MetricsListener } from '@app/observability';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { LoopbackServer } from '@test/loopback-server';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

const SECRET = 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=';

const flow = defineWorkflow('metrics-flow', async (ctx, input: { n: number }) => {
  const doubled = await ctx.step('compute', () => input.n * 2);
  await ctx.sleep('300ms');
  await ctx.send({ channel: 'http', target: 'sink' }, { text: `doubled: ${doubled}` });
  return doubled;
});

const asking = defineWorkflow('metrics-ask', async (ctx) => {
  return ctx.ask<string>({ text: 'ok?', expects: { enum: ['ok'] } });
});

/** The value of one sample in Prometheus text, 0 when the series is absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('Prometheus metrics and run logs', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: INestApplicationContext;
  let workerMetricsUrl: string;
  const sink = new LoopbackServer();
  const logs: Array<Record<string, unknown>> = [];
  let n = 0;

  const scrape = async (url: string) => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };
  const gatewayMetrics = () => scrape(`${gw.url}/metrics`);
  const workerMetrics = () => scrape(workerMetricsUrl);

  async function deliver(
    body: unknown,
    id = `msg_metrics_${Date.now()}_${n++}`,
    source: 'flows' | 'asks' = 'flows',
  ) {
    const raw = JSON.stringify(body);
    const headers = SCHEMES['standard-webhooks'].sign({
      rawBody: Buffer.from(raw),
      secret: SECRET,
      nowSeconds: Math.floor(Date.now() / 1000),
      id,
    });
    const res = await fetch(`${gw.url}/hooks/${source}`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.status, json: (await res.json()) as { eventId: string; workId: string } };
  }

  const stateOf = async (id: string) =>
    (await db.query<{ state: string }>('SELECT state FROM "Work" WHERE id = $1', [id]))[0]?.state;

  beforeAll(async () => {
    db = await createTestSchema('metrics');
    prefix = testQueuePrefix();
    sink.respond = () => ({ status: 500, body: { error: 'down for the test' } });
    await sink.start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      env: { WORKER_METRICS_PORT: String(await freePort()) },
      overrides: {
        worker: { lease: '2s', reconcileEvery: '250ms', concurrency: 4, metricsHost: '127.0.0.1' },
        webhooks: {
          sources: {
            flows: { scheme: 'standard-webhooks', secrets: [SECRET], workflow: 'metrics-flow' },
            // Opens works that only wait: nothing they do moves the worker's counters.
            asks: { scheme: 'standard-webhooks', secrets: [SECRET], workflow: 'metrics-ask' },
          },
        },
        outbound: {
          retryDelay: '50ms',
          maxRetryDelay: '100ms',
          maxAttempts: 2,
          http: { sink: { url: `${sink.url}/in` } },
        },
      },
    });
    gw = await startGateway(config);
    // The worker logs into memory at debug level, so the test can read every line of a run.
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n'))
          if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    worker = await createWorker(config, pino({ level: 'debug' }, stream), [flow, asking]);
    workerMetricsUrl = worker.get(MetricsListener).url!;
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await sink.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('counts an ingested webhook by channel and decision, and a redelivery as a duplicate', async () => {
    const opened = 'workgate_events_ingested_total{channel="webhook",decision="opened"}';
    const duplicate = 'workgate_events_duplicate_total{channel="webhook"}';
    const before = await gatewayMetrics();

    const id = `msg_once_${Date.now()}`;
    expect((await deliver({}, id, 'asks')).status).toBe(202);
    let after = await gatewayMetrics();
    expect(sample(after, opened) - sample(before, opened)).toBe(1);
    expect(sample(after, duplicate) - sample(before, duplicate)).toBe(0);

    expect((await deliver({}, id, 'asks')).status).toBe(200);
    after = await gatewayMetrics();
    expect(sample(after, opened) - sample(before, opened)).toBe(1);
    expect(sample(after, duplicate) - sample(before, duplicate)).toBe(1);
  });

  it('observes step durations, timer lateness and outbox failures in the worker while a work runs', async () => {
    const step = (suffix: string) =>
      `workgate_step_duration_seconds_${suffix}{kind="metrics-flow",step="compute",outcome="completed"}`;
    const sleeps = 'workgate_timer_lateness_seconds_count{timer="sleep"}';
    const retried = 'workgate_outbox_failures_total{channel="http",outcome="retry"}';
    const failed = 'workgate_outbox_failures_total{channel="http",outcome="failed"}';
    const before = await workerMetrics();

    const { json } = await deliver({ n: 21 });
    await until(async () => (await stateOf(json.workId)) === 'COMPLETED', 'the work to complete');
    // Two attempts against a sink that answers 500: one retry, then given up.
    const after = await until(async () => {
      const text = await workerMetrics();
      return sample(text, failed) - sample(before, failed) === 1 ? text : null;
    }, 'the delivery to be given up');
    expect(sample(after, step('count')) - sample(before, step('count'))).toBe(1);
    expect(sample(after, step('sum'))).toBeGreaterThan(0);
    expect(sample(after, sleeps) - sample(before, sleeps)).toBe(1);
    expect(sample(after, retried) - sample(before, retried)).toBe(1);
    expect(sink.received.filter((r) => r.path === '/in').length).toBeGreaterThanOrEqual(2);
    // Node's own metrics and the agent's model counters (none yet) are there too.
    expect(after).toMatch(/^process_resident_memory_bytes \d/m);
    expect(after).toContain('# TYPE workgate_model_tokens_total counter');
    expect(after).toContain('# TYPE workgate_model_cost_usd_total counter');
  });

  it('reports works by state and queue depths from the ledger and BullMQ on each scrape', async () => {
    const [counts] = await db.query<{ completed: number; all: number }>(
      `SELECT count(*) FILTER (WHERE state = 'COMPLETED')::int AS completed, count(*)::int AS "all" FROM "Work"`,
    );
    const text = await gatewayMetrics();
    expect(sample(text, 'workgate_works{state="COMPLETED"}')).toBe(counts!.completed);
    expect(sample(text, 'workgate_works{state="CANCELLED"}')).toBe(0);
    expect(text).toContain('workgate_works{state="CANCELLED"} 0');
    for (const queue of ['work', 'wake', 'outbox'])
      expect(text).toMatch(
        new RegExp(`^workgate_queue_jobs\\{queue="${queue}",state="waiting"\\} \\d+$`, 'm'),
      );
  });

  it('counts a lease the reconciler takes back', async () => {
    const series = 'workgate_lease_expiries_total{kind="metrics-ask"}';
    const before = await workerMetrics();
    const { workId } = await worker.get(EngineControl).start('metrics-ask', {}, { actor: 'test' });
    await until(async () => (await stateOf(workId!)) === 'WAITING', 'the work to wait');
    // A worker that died mid-run, as the ledger sees it: RUNNING under a lease that ran out.
    await db.query(
      `UPDATE "Work" SET state = 'RUNNING', "waitReason" = NULL, "leaseOwner" = 'ghost',
         "leaseExpiresAt" = now() - interval '1 minute' WHERE id = $1`,
      [workId],
    );
    await until(
      async () => sample(await workerMetrics(), series) - sample(before, series) === 1,
      'the expired lease to be counted',
    );
  });

  it('puts workId, eventId, step and attempt on the log lines of a run', async () => {
    const { json } = await deliver({ n: 2 });
    await until(async () => (await stateOf(json.workId)) === 'COMPLETED', 'the work to complete');
    const lines = logs.filter((l) => l.workId === json.workId);
    expect(lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'run started',
        'step started',
        'step completed',
        'run suspended',
        'work completed',
      ]),
    );
    for (const line of lines) {
      expect(line).toMatchObject({ eventId: json.eventId, attempt: 1, kind: 'metrics-flow' });
      // Only the first line of a run comes before any step.
      if (line.msg !== 'run started') expect(typeof line.step).toBe('string');
    }
    expect(lines.find((l) => l.msg === 'step completed')).toMatchObject({
      step: 'compute',
      seq: 1,
      stepAttempt: 1,
    });
    expect(lines.find((l) => l.msg === 'run suspended')).toMatchObject({ step: 'sleep', seq: 2 });
    expect(lines.find((l) => l.msg === 'work completed')).toMatchObject({ step: 'send:http' });
  });
});
