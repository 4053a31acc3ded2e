import { type InboundEventInput } from '@app/core';
import { defineWorkflow, EngineControl } from '@app/engine';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

/**
 * A cancel or an interrupt for a RUNNING work reaches its run at once: the request is
 * published after its commit (a `nudge`) and the worker holding the work beats then,
 * instead of at its next heartbeat. The lease here is 60 s, so heartbeats come every
 * 20 s: each test's deadline (5 s) can only be met by the nudge.
 */
const LEASE = '60s';
const DEADLINE_MS = 5_000;

/** Waits for its abort signal; without one it would hold its step for a minute. */
const holder = defineWorkflow('nudge.holder', async (ctx) =>
  ctx.step('hold', async ({ signal }) => {
    const until = Date.now() + 60_000;
    while (!signal.aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) throw new Error('cut short');
    return 'held to the end';
  }),
);

/** The `interrupt` busy policy's workflow: thinks until interrupted, then answers the news. */
const thinker = defineWorkflow('nudge.thinker', async (ctx) => {
  const items = await ctx.inbox();
  return ctx.step('think', async ({ signal }) => {
    while (!items.length && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) throw new Error('cut short');
    return { news: items.length };
  });
});

describe('nudges: a cancel or an interrupt reaches the running step before the next heartbeat', () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestSchema('nudge');
    prefix = testQueuePrefix();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: { worker: { lease: LEASE, reconcileEvery: '1s' } },
      }),
      [holder, thinker],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const ledger = () => ledgerOf(db);
  const running = (workId: string, step: string) =>
    until(
      async () =>
        (await ledger().steps(workId)).some((s) => s.name === step && s.status === 'running'),
      `work ${workId} to be running step ${step}`,
    );

  it('a cancel: the step is aborted and the work ends CANCELLED within seconds', async () => {
    const control = worker.app.get(EngineControl);
    const { workId } = await control.start('nudge.holder', {}, { actor: 'test' });
    await running(workId!, 'hold');
    await control.cancel(workId!, 'operator:ana');
    await until(
      async () => (await ledger().work(workId!)).state === 'CANCELLED',
      'the work to be cancelled by the nudge',
      DEADLINE_MS,
    );
  });

  it('an interrupt: the busy work restarts with the new message within seconds', async () => {
    const ingest = worker.app.get(IngestService);
    const message = (text: string): InboundEventInput => ({
      channel: 'chat',
      source: 'bot',
      externalId: `bot:nudge-${++seq}`,
      conversationKey: 'chat:nudge-room',
      correlationKey: null,
      actor: { id: 'chat:ana', name: 'ana' },
      raw: { text },
      body: { text },
      answer: text,
      reference: null,
      command: null,
      route: { openKind: 'nudge.thinker', busyPolicy: 'interrupt', collectWindowMs: 0 },
    });
    const { workId } = await ingest.ingest(message('plan a trip'));
    await running(workId!, 'think');
    expect(await ingest.ingest(message('make it Lisbon'))).toMatchObject({
      decision: 'interrupted',
      workId,
    });
    const done = await until(
      async () => {
        const work = await ledger().work(workId!);
        return work.state === 'COMPLETED' ? work : null;
      },
      'the interrupted work to complete with the news',
      DEADLINE_MS,
    );
    expect(done.output).toEqual({ news: 1 });
  });
});
