import { defineWorkflow, NonRetryableError } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const calls: string[] = [];

const flow = defineWorkflow('flow', async (ctx, input: any) => {
  const a = await ctx.step('a', () => {
    calls.push('a');
    return input.n * 2;
  });
  await ctx.sleep('300ms');
  const hook = await ctx.waitFor<{ ok: boolean }>({ match: `ci:${input.ref}` });
  const answer = await ctx.ask<string>({ text: 'go?', expects: { enum: ['yes', 'no'] } });
  const b = await ctx.step('b', () => {
    calls.push('b');
    return `${a}-${answer}-${hook.ok}`;
  });
  return { b };
});

const failing = defineWorkflow('failing', async (ctx) => {
  await ctx.step('boom', () => {
    throw new NonRetryableError('nope', 'bad_thing');
  });
});

describe('engine basics', () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker;

  beforeAll(async () => {
    db = await createTestSchema('engine');
    prefix = testQueuePrefix();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: { worker: { lease: '2s', reconcileEvery: '200ms', concurrency: 4 } },
      }),
      [flow, failing],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const work = async (id: string) =>
    (await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [id]))[0];

  it('runs step, sleep, waitFor and ask, and completes once answered', async () => {
    const started = await worker.control.start('flow', { n: 21, ref: 'r1' }, { actor: 'test' });
    const workId = started.workId!;
    await until(
      async () =>
        (await work(workId))?.waitReason === 'event' && (await work(workId)).state === 'WAITING',
      'the work to wait for the webhook',
      10_000,
    );
    const [sleepWait] = await db.query<any>(
      `SELECT * FROM "Wait" WHERE "workId" = $1 AND type = 'timer'`,
      [workId],
    );
    expect(sleepWait.status).toBe('satisfied');
    // The webhook answer, as ingest would deliver it:
    await db.query(`SELECT 1`);
    const ingest = worker.app.get((await import('@app/ledger')).IngestService);
    const res = await ingest.ingest({
      channel: 'webhook',
      source: 'ci',
      externalId: 'ci:1',
      conversationKey: null,
      correlationKey: 'ci:r1',
      actor: null,
      raw: { ok: true },
      body: { ok: true },
      answer: { ok: true },
      reference: null,
      command: null,
      route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
    });
    expect(res.decision).toBe('resumed');
    await until(async () => (await work(workId)).waitReason === 'human', 'the work to ask', 10_000);
    await expect(worker.control.signal(workId, 'maybe', 'test')).rejects.toThrow(/does not match/);
    await worker.control.signal(workId, 'yes', 'test');
    await until(
      async () => (await work(workId)).state === 'COMPLETED',
      'the work to complete',
      10_000,
    );
    expect((await work(workId)).output).toEqual({ b: '42-yes-true' });
    expect(calls).toEqual(['a', 'b']);
    const timeline = await db.query<any>(
      'SELECT type FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [workId],
    );
    // Completed steps are recorded in Step (not as timeline entries: the hot path).
    expect(timeline.map((t: any) => t.type)).toEqual(
      expect.arrayContaining([
        'created',
        'claimed',
        'waiting',
        'timer_fired',
        'wait_satisfied',
        'completed',
      ]),
    );
  });

  it('fails a work for good on a non-retryable error, recording the step error', async () => {
    const started = await worker.control.start('failing', {}, { actor: 'test' });
    await until(
      async () => (await work(started.workId!)).state === 'FAILED',
      'the work to fail',
      10_000,
    );
    const w = await work(started.workId!);
    expect(w.error).toMatchObject({
      name: 'NonRetryableError',
      code: 'bad_thing',
      message: 'nope',
    });
    const [step] = await db.query<any>('SELECT * FROM "Step" WHERE "workId" = $1', [
      started.workId,
    ]);
    expect(step).toMatchObject({ status: 'failed', name: 'boom' });
  });
});
