import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineWorkflow, NonRetryableError } from '@app/engine';
import { ApiTokenRepository } from '@app/ledger';
import { runCli } from '@test/cli';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const ran: string[] = [];

const greet = defineWorkflow(
  'start-greet',
  async (ctx, input) => {
    const line = await ctx.step('greet', () => {
      ran.push(input.name);
      return `hello ${input.name} x${input.times}`;
    });
    return { line };
  },
  {
    input: z.object({
      name: z.string().min(1),
      times: z.number().int().min(1).default(1),
      address: z.object({ city: z.string() }).optional(),
    }),
    description: 'says hello',
  },
);

const asking = defineWorkflow('start-asking', async (ctx, input: { ref: string }) => {
  const answer = await ctx.ask<string>({
    text: `ship ${input.ref}?`,
    expects: { enum: ['yes', 'no'] },
  });
  return { answer };
});

const failing = defineWorkflow('start-failing', async (ctx) => {
  await ctx.step('boom', () => {
    throw new NonRetryableError('nope', 'bad_thing');
  });
});

describe('starting works over the API and waiting for their results', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: TestWorker;
  let operator: string;
  let viewer: string;

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token: string = operator,
  ): Promise<{ status: number; json: any; type: string | null }> {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      json: text ? JSON.parse(text) : undefined,
      type: res.headers.get('content-type'),
    };
  }

  beforeAll(async () => {
    db = await createTestSchema('api_start');
    prefix = testQueuePrefix();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: '2s', reconcileEvery: '250ms', concurrency: 4 } },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [greet, asking, failing]);
    operator = (await gw.app.get(ApiTokenRepository).create('ana', 'operator')).token;
    viewer = (await gw.app.get(ApiTokenRepository).create('vic', 'viewer')).token;
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('lists the kinds the worker registered, with the JSON Schema of their inputs', async () => {
    const res = await call('GET', '/api/v1/workflows', undefined, viewer);
    expect(res.status).toBe(200);
    const byKind = new Map<string, any>(res.json.items.map((k: any) => [k.kind, k]));
    expect([...byKind.keys()]).toEqual(['start-asking', 'start-failing', 'start-greet']);
    expect(byKind.get('start-greet')).toMatchObject({
      description: 'says hello',
      inputSchema: { type: 'object', required: ['name'] },
      registeredBy: expect.any(String),
    });
    expect(byKind.get('start-asking').inputSchema).toBeNull();
  });

  it('a start may name the work: its title is on the work and in the list', async () => {
    const started = await call('POST', '/api/v1/works', {
      kind: 'start-greet',
      input: { name: 'titled' },
      title: '  Greet the new hire  ',
    });
    expect(started.status).toBe(201);
    expect(started.json.work).toMatchObject({ title: 'Greet the new hire' });
    const listed = await call('GET', '/api/v1/works?kind=start-greet', undefined, viewer);
    expect(listed.json.items.find((w: any) => w.id === started.json.work.id)).toMatchObject({
      title: 'Greet the new hire',
    });
    const blank = await call('POST', '/api/v1/works', {
      kind: 'start-greet',
      input: { name: 'x' },
      title: '   ',
    });
    expect(blank.status).toBe(400);
    expect(JSON.stringify(blank.json)).toContain('title');
  });

  it('starts a work (201), runs it, and a second start with the same key answers 200 with the same work', async () => {
    const key = `k-${randomUUID()}`;
    const first = await call('POST', '/api/v1/works', {
      kind: 'start-greet',
      input: { name: 'ana', times: 2 },
      idempotencyKey: key,
    });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      created: true,
      work: { kind: 'start-greet', channel: 'api' },
    });
    const id = first.json.work.id;

    const again = await call('POST', '/api/v1/works', {
      kind: 'start-greet',
      input: { name: 'ana', times: 2 },
      idempotencyKey: key,
    });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ created: false, eventId: first.json.eventId });
    expect(again.json.work.id).toBe(id);

    const events = await db.query<any>(
      'SELECT channel, "externalId", decision, "workId" FROM "InboundEvent" WHERE "workId" = $1',
      [id],
    );
    expect(events).toEqual([
      { channel: 'api', externalId: `api:${key}`, decision: 'opened', workId: id },
    ]);

    const result = await call('GET', `/api/v1/works/${id}/result?wait=20s`, undefined, viewer);
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      id,
      state: 'COMPLETED',
      done: true,
      output: { line: 'hello ana x2' },
      error: null,
    });
    expect(ran.filter((n) => n === 'ana')).toHaveLength(1);
  });

  it('concurrent starts with one key open one work', async () => {
    const key = `race-${randomUUID()}`;
    const body = { kind: 'start-greet', input: { name: 'race' }, idempotencyKey: key };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => call('POST', '/api/v1/works', body)),
    );
    expect(new Set(answers.map((a) => a.json.work.id)).size).toBe(1);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(4);
  });

  it('refuses an unknown kind and an input the schema refuses with 400s naming the field', async () => {
    const unknown = await call('POST', '/api/v1/works', { kind: 'no-such-kind', input: {} });
    expect(unknown.status).toBe(400);
    expect(unknown.type).toMatch(/application\/problem\+json/);
    expect(unknown.json.code).toBe('validation_failed');
    expect(unknown.json.errors).toEqual([
      { path: 'kind', message: expect.stringContaining('no-such-kind') },
    ]);

    const bad = await call('POST', '/api/v1/works', {
      kind: 'start-greet',
      input: { times: 'two', address: { city: 3 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation_failed');
    expect(bad.json.errors.map((e: any) => e.path).sort()).toEqual([
      'input.address.city',
      'input.name',
      'input.times',
    ]);

    const shape = await call('POST', '/api/v1/works', { input: {} });
    expect(shape.status).toBe(400);
    expect(shape.json.errors).toEqual([expect.objectContaining({ path: 'kind' })]);

    const viewerStart = await call(
      'POST',
      '/api/v1/works',
      { kind: 'start-greet', input: { name: 'v' } },
      viewer,
    );
    expect(viewerStart.status).toBe(403);
    // None of the refused starts opened a work.
    expect(await db.query("SELECT id FROM \"Work\" WHERE input->>'name' = 'v'")).toEqual([]);
  });

  it('holds a result request while the work is live, answers 202 when the wait ends first, and 200 once it ends', async () => {
    const started = await call('POST', '/api/v1/works', {
      kind: 'start-asking',
      input: { ref: 'r1' },
    });
    expect(started.status).toBe(201);
    const id = started.json.work.id;
    await until(
      async () => (await call('GET', `/api/v1/works/${id}/result`)).json.state === 'WAITING',
      `work ${id} to wait for its answer`,
      15_000,
    );

    const t0 = Date.now();
    const live = await call('GET', `/api/v1/works/${id}/result?wait=600ms`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
    expect(live.status).toBe(202);
    expect(live.json).toMatchObject({ id, state: 'WAITING', done: false, output: null });

    const pending = call('GET', `/api/v1/works/${id}/result?wait=20s`);
    const signalled = await call('POST', `/api/v1/works/${id}/signal`, { payload: 'yes' });
    expect(signalled.status).toBe(200);
    const ended = await pending;
    expect(ended.status).toBe(200);
    expect(ended.json).toMatchObject({ state: 'COMPLETED', done: true, output: { answer: 'yes' } });

    const badWait = await call('GET', `/api/v1/works/${id}/result?wait=soon`);
    expect(badWait.status).toBe(400);
    expect(badWait.json.errors).toEqual([expect.objectContaining({ path: 'wait' })]);
    const missing = await call('GET', `/api/v1/works/${randomUUID()}/result`);
    expect(missing.status).toBe(404);
  });

  it('answers a failed work’s result with its error', async () => {
    const started = await call('POST', '/api/v1/works', { kind: 'start-failing', input: {} });
    const res = await call('GET', `/api/v1/works/${started.json.work.id}/result?wait=20s`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ state: 'FAILED', done: true, output: null });
    expect(JSON.stringify(res.json.error)).toContain('nope');
  });

  describe('workgate works start', () => {
    const cli = (args: string[]) =>
      runCli(args, {
        DATABASE_URL: TEST_DATABASE_URL,
        WORKGATE_DB_SCHEMA: db.schema,
        WORKGATE_URL: gw.url,
        WORKGATE_TOKEN: operator,
      });

    it('starts a work and, with --wait, prints its output once it completes', async () => {
      const key = `cli-${randomUUID()}`;
      const run = await cli([
        'works',
        'start',
        'start-greet',
        '--input',
        '{"name":"cli"}',
        '--key',
        key,
        '--wait',
        '--json',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const printed = JSON.parse(run.stdout);
      expect(printed).toMatchObject({
        state: 'COMPLETED',
        done: true,
        output: { line: 'hello cli x1' },
      });

      const again = await cli([
        'works',
        'start',
        'start-greet',
        '--input',
        '{"name":"cli"}',
        '--key',
        key,
      ]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(printed.id);
      expect(again.stdout).toMatch(/already started/i);
    });

    it('exits non-zero, naming the field, when the input is refused, and with the work’s error when it fails', async () => {
      const bad = await cli(['works', 'start', 'start-greet', '--input', '{"name":""}']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('input.name');

      const failed = await cli(['works', 'start', 'start-failing', '--input', '{}', '--wait']);
      expect(failed.code).not.toBe(0);
      expect(failed.stdout + failed.stderr).toMatch(/FAILED/);
    });
  });
});
