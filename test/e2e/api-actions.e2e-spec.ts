import { randomUUID } from 'node:crypto';
import { defineWorkflow, NonRetryableError } from '@app/engine';
import { ApiTokenRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const prepared: string[] = [];

const approval = defineWorkflow('api-approval', async (ctx, input: { ref: string }) => {
  await ctx.step('prepare', () => {
    prepared.push(input.ref);
    return { ref: input.ref };
  });
  const answer = await ctx.ask<string>({
    text: `ship ${input.ref}?`,
    expects: { enum: ['yes', 'no'] },
  });
  const done = await ctx.step('finish', () => `shipped:${answer}`);
  return { answer, done };
});

const tick = defineWorkflow('api-tick', async (ctx, input: { fireAt: string }) => {
  return ctx.step('noted', () => input.fireAt);
});

const failing = defineWorkflow('api-failing', async (ctx) => {
  await ctx.step('boom', () => {
    throw new NonRetryableError('nope', 'bad_thing');
  });
});

describe('operator API actions on running works', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: TestWorker;
  let operator: string;
  let viewer: string;

  async function post(
    path: string,
    body?: unknown,
    opts: { method?: string; token?: string } = {},
  ) {
    const res = await fetch(`${gw.url}${path}`, {
      method: opts.method ?? 'POST',
      headers: {
        authorization: `Bearer ${opts.token ?? operator}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      json: text ? JSON.parse(text) : undefined,
      headers: res.headers,
    };
  }

  const work = async (id: string) =>
    (await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [id]))[0];
  const timeline = async (id: string) =>
    db.query<{ type: string; actor: string; data: any }>(
      'SELECT type, actor, data FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [id],
    );
  const waitingForAnswer = (id: string) =>
    until(
      async () => {
        const w = await work(id);
        return w?.state === 'WAITING' && w.waitReason === 'human';
      },
      `work ${id} to wait for an answer`,
      15_000,
    );
  const inState = (id: string, state: string) =>
    until(async () => (await work(id))?.state === state, `work ${id} to be ${state}`, 15_000);
  const start = async (ref: string) =>
    (await worker.control.start('api-approval', { ref }, { actor: 'test' })).workId!;

  beforeAll(async () => {
    db = await createTestSchema('api_actions');
    prefix = testQueuePrefix();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: '2s', reconcileEvery: '250ms', concurrency: 4 } },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [approval, failing, tick]);
    viewer = (await gw.app.get(ApiTokenRepository).create('vic', 'viewer')).token;
    operator = (await gw.app.get(ApiTokenRepository).create('ana', 'operator')).token;
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('pauses, resumes and signals a waiting work to completion, each recorded with who did it', async () => {
    const id = await start('r1');
    await waitingForAnswer(id);

    const paused = await post(`/api/v1/works/${id}/pause`, { reason: 'checking the CI logs' });
    expect(paused.status).toBe(200);
    expect(paused.json).toMatchObject({ event: 'paused', work: { id, state: 'PAUSED' } });

    const resumed = await post(`/api/v1/works/${id}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ event: 'resumed', work: { id, state: 'WAITING' } });

    const wrong = await post(`/api/v1/works/${id}/signal`, { payload: 'maybe' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.code).toBe('validation_failed');

    const [wait] = await db.query<{ id: string }>(
      `SELECT id FROM "Wait" WHERE "workId" = $1 AND status = 'open'`,
      [id],
    );
    const answered = await post(`/api/v1/works/${id}/signal`, { waitId: wait!.id, payload: 'yes' });
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ waitId: wait!.id, work: { id, state: 'QUEUED' } });

    await inState(id, 'COMPLETED');
    expect((await work(id)).output).toEqual({ answer: 'yes', done: 'shipped:yes' });
    const byOperator = (await timeline(id)).filter((e) => e.actor === 'token:ana');
    expect(byOperator.map((e) => e.type)).toEqual([
      'paused',
      'operator_note',
      'resumed',
      'wait_satisfied',
    ]);
    expect(byOperator[1]!.data).toEqual({ event: 'paused', reason: 'checking the CI logs' });
    expect(byOperator[3]!.data).toMatchObject({ waitId: wait!.id, signal: true });
  });

  it('answers 409 with the current state for a forbidden transition, and changes nothing', async () => {
    const id = await start('r2');
    await waitingForAnswer(id);
    const versionBefore = (await work(id)).version;

    const cases: Array<[string, unknown, string]> = [
      ['resume', undefined, 'WAITING'],
      ['retry', undefined, 'WAITING'],
    ];
    for (const [action, body, currentState] of cases) {
      const res = await post(`/api/v1/works/${id}/${action}`, body);
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ code: 'invalid_transition', currentState });
    }
    const notOpen = await post(`/api/v1/works/${id}/signal`, {
      waitId: randomUUID(),
      payload: 'yes',
    });
    expect(notOpen.status).toBe(409);
    expect(notOpen.json.currentState).toBe('WAITING');
    expect((await work(id)).version).toBe(versionBefore);

    await post(`/api/v1/works/${id}/signal`, { payload: 'no' });
    await inState(id, 'COMPLETED');
    for (const action of ['pause', 'resume', 'cancel', 'retry']) {
      const res = await post(`/api/v1/works/${id}/${action}`);
      expect(res.status).toBe(409);
      expect(res.json.currentState).toBe('COMPLETED');
    }
    const signal = await post(`/api/v1/works/${id}/signal`, { payload: 'yes' });
    expect(signal.status).toBe(409);
    expect(signal.json.currentState).toBe('COMPLETED');
  });

  it('cancels a waiting work and retries it, keeping its completed steps', async () => {
    const id = await start('r3');
    await waitingForAnswer(id);
    const cancelled = await post(`/api/v1/works/${id}/cancel`, { reason: 'wrong ref' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.work.state).toBe('CANCELLED');
    expect(
      (await db.query<any>(`SELECT status FROM "Wait" WHERE "workId" = $1`, [id]))[0].status,
    ).toBe('cancelled');

    const retried = await post(`/api/v1/works/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({ event: 'retried', work: { state: 'QUEUED' } });
    await waitingForAnswer(id);
    // `prepare` completed before the cancel and is not run again.
    expect(prepared.filter((r) => r === 'r3')).toHaveLength(1);
  });

  it('retries a failed work', async () => {
    const id = (await worker.control.start('api-failing', {}, { actor: 'test' })).workId!;
    await inState(id, 'FAILED');
    const attempts = (await timeline(id)).filter((e) => e.type === 'claimed').length;
    const res = await post(`/api/v1/works/${id}/retry`);
    expect(res.status).toBe(200);
    // The worker may have claimed it by the time the answer reads the work back.
    expect(['QUEUED', 'RUNNING', 'FAILED']).toContain(res.json.work.state);
    await until(
      async () =>
        (await work(id)).state === 'FAILED' &&
        (await timeline(id)).filter((e) => e.type === 'claimed').length > attempts,
      'the retried work to run and fail again',
      15_000,
    );
  });

  it('reruns a completed work from a step: earlier steps are kept, later ones run again', async () => {
    const id = await start('r4');
    await waitingForAnswer(id);
    await post(`/api/v1/works/${id}/signal`, { payload: 'yes' });
    await inState(id, 'COMPLETED');

    expect((await post(`/api/v1/works/${id}/rerun`, { fromStep: 0 })).status).toBe(400);
    expect((await post(`/api/v1/works/${id}/rerun`, {})).status).toBe(400);
    const rerun = await post(`/api/v1/works/${id}/rerun`, { fromStep: 2, reason: 'ask again' });
    expect(rerun.status).toBe(200);
    // The worker may have claimed it by the time the answer reads the work back.
    expect(['QUEUED', 'RUNNING', 'WAITING']).toContain(rerun.json.work.state);
    await waitingForAnswer(id);
    const steps = await db.query<{ seq: number; name: string }>(
      'SELECT seq, name FROM "Step" WHERE "workId" = $1 ORDER BY seq',
      [id],
    );
    expect(steps.map((s) => s.name)).toEqual(['prepare', 'ask']);
    expect(prepared.filter((r) => r === 'r4')).toHaveLength(1);
    await post(`/api/v1/works/${id}/signal`, { payload: 'no' });
    await inState(id, 'COMPLETED');
    expect((await work(id)).output).toEqual({ answer: 'no', done: 'shipped:no' });
  });

  it('answers 404 for every action on an unknown work', async () => {
    const id = randomUUID();
    for (const [action, body] of [
      ['pause', undefined],
      ['resume', undefined],
      ['cancel', undefined],
      ['retry', undefined],
      ['rerun', { fromStep: 1 }],
      ['signal', { payload: 'yes' }],
    ] as const) {
      const res = await post(`/api/v1/works/${id}/${action}`, body);
      expect(res.status).toBe(404);
      expect(res.json.code).toBe('not_found');
    }
  });

  describe('schedules', () => {
    const ticks = async () =>
      db.query<{ fireAt: string }>(
        `SELECT input->>'fireAt' AS "fireAt" FROM "Work" WHERE kind = 'api-tick' ORDER BY "createdAt"`,
      );

    it('creates a schedule the worker fires, pauses it (no fires), resumes and deletes it', async () => {
      const spec = { name: 'tick', workflow: 'api-tick', every: '1s', input: { team: 'ops' } };
      const created = await post('/api/v1/schedules', spec);
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({
        name: 'tick',
        kind: 'interval',
        intervalMs: 1000,
        workflowKind: 'api-tick',
        input: { team: 'ops' },
        enabled: true,
      });
      expect(Date.parse(created.json.nextFireAt)).toBeGreaterThan(Date.now() - 1000);
      const same = await post('/api/v1/schedules', spec);
      expect(same.status).toBe(200);
      expect(same.json.id).toBe(created.json.id);
      const list = await post('/api/v1/schedules', undefined, { method: 'GET', token: viewer });
      expect(list.json.items.map((s: any) => s.name)).toContain('tick');

      await until(
        async () => (await ticks()).length >= 2,
        'the worker to fire the schedule twice',
        15_000,
      );

      const paused = await post('/api/v1/schedules/tick/pause');
      expect(paused.json).toMatchObject({ enabled: false, nextFireAt: null });
      // A pass that read the row before the pause may still land its fire: let it finish.
      await worker.reconciler.reconcile();
      const pausedAt = Date.now();
      const before = (await ticks()).length;
      await until(() => Date.now() > pausedAt + 2_500, 'two slots to pass while paused', 5_000);
      await worker.reconciler.reconcile();
      expect((await ticks()).length).toBe(before);

      const resumed = await post('/api/v1/schedules/tick/resume');
      expect(resumed.json.enabled).toBe(true);
      expect(Date.parse(resumed.json.nextFireAt)).toBeGreaterThan(pausedAt + 2_500);
      await until(async () => (await ticks()).length > before, 'a fire after the resume', 15_000);
      const slots = (await ticks()).map((t) => Date.parse(t.fireAt));
      expect(slots.filter((at) => at > pausedAt + 500 && at < pausedAt + 2_500)).toEqual([]);

      const removed = await post('/api/v1/schedules/tick', undefined, { method: 'DELETE' });
      expect(removed.status).toBe(204);
      const gone = await post('/api/v1/schedules/tick', undefined, { method: 'GET' });
      expect(gone.status).toBe(404);
      expect((await post('/api/v1/schedules/tick/pause')).status).toBe(404);
    });

    it('validates schedules like the config file does, and only operators change them', async () => {
      const none = await post('/api/v1/schedules', { name: 'x', workflow: 'api-tick' });
      expect(none.status).toBe(400);
      expect(none.json.detail).toContain('exactly one of cron, every or at');
      const badCron = await post('/api/v1/schedules', {
        name: 'x',
        workflow: 'w',
        cron: '0 25 * * *',
      });
      expect(badCron.status).toBe(400);
      expect(badCron.json.errors[0].path).toBe('cron');
      const paused = await post('/api/v1/schedules', {
        name: 'nightly',
        workflow: 'api-tick',
        cron: '0 2 * * *',
        timezone: 'Europe/Berlin',
        enabled: false,
      });
      expect(paused.status).toBe(201);
      expect(paused.json).toMatchObject({ kind: 'cron', enabled: false, nextFireAt: null });
      const forbidden = await post('/api/v1/schedules/nightly/resume', undefined, {
        token: viewer,
      });
      expect(forbidden.status).toBe(403);
      const resumed = await post('/api/v1/schedules/nightly/resume');
      // 02:00 in Berlin is 00:00 or 01:00 UTC.
      expect(resumed.json.nextFireAt).toMatch(/T0[01]:00:00\.000Z$/);
      expect(
        (await post('/api/v1/schedules/nightly', undefined, { method: 'DELETE' })).status,
      ).toBe(204);
    });
  });
});
