import { type InboundEventInput, type OutboundDelivery, type OutboundSender } from '@app/core';
import { defineWorkflow } from '@app/engine';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

/**
 * DESIGN.md, "Routing": no acknowledged event is stranded. Whatever is still unread in
 * a work's inbox when the work ends — on every path to a terminal state — is routed
 * again as if it had just arrived, with the reason on both timelines. And events a
 * work had read come back to its inbox when the steps that read them are discarded
 * (rerun, interrupt). Real PostgreSQL, Redis, ingest and worker.
 */
class NullSender implements OutboundSender {
  readonly channel = 'chat';
  private n = 0;
  async send(_delivery: OutboundDelivery) {
    return { providerMessageId: `m${++this.n}` };
  }
}

/** Test-controlled gates: a step that stays busy until its gate opens (ignoring aborts). */
const gates = new Map<string, boolean>();
const waitGate = async (name: string) => {
  while (!gates.get(name)) await new Promise((r) => setTimeout(r, 20));
};

/** Busy, then done without ever reading its inbox. */
const quick = defineWorkflow('rr.quick', async (ctx, input: { gate: string }) => {
  await ctx.step('busy', () => waitGate(input.gate));
  return { done: true };
});

/** Busy, then fails for good. */
const fails = defineWorkflow(
  'rr.fails',
  async (ctx, input: { gate: string }) => {
    await ctx.step('busy', () => waitGate(input.gate));
    throw new Error('boom');
  },
  { retry: { maxAttempts: 1 } },
);

/** A child that fails for good, and a parent that starts it after being busy. */
const failingChild = defineWorkflow(
  'rr.failing-child',
  async () => {
    throw new Error('child broke');
  },
  { retry: { maxAttempts: 1 } },
);
const parent = defineWorkflow(
  'rr.parent',
  async (ctx, input: { gate: string }) => {
    await ctx.step('busy', () => waitGate(input.gate));
    return ctx.child('rr.failing-child', {});
  },
  { retry: { maxAttempts: 1 } },
);

/** Busy, then asks a question that times out (onTimeout: fail). */
const asker = defineWorkflow('rr.asker', async (ctx, input: { gate: string }) => {
  await ctx.step('busy', () => waitGate(input.gate));
  return ctx.ask({ text: 'Only digits?', expects: { type: 'number' }, timeout: '300ms' });
});

/** Busy, reads its inbox once (a burst still in its window stays there), then done. */
const readsOnce = defineWorkflow('rr.reads-once', async (ctx, input: { gate: string }) => {
  await ctx.step('busy', () => waitGate(input.gate));
  return { read: (await ctx.inbox()).length };
});

/** What a re-routed message opens: it echoes what opened it and reads its inbox at the end. */
const echo = defineWorkflow('rr.echo', async (ctx, input: { text: string }) => {
  const more = await ctx.inbox();
  return { echo: input.text, more: more.map((m) => (m.body as { text?: string }).text) };
});

/** Reads its inbox, then a step that fails the first time (rerun target). */
const failOnce = new Set<string>();
const reader = defineWorkflow(
  'rr.reader',
  async (ctx, input: { gate: string }) => {
    await ctx.step('busy', () => waitGate(input.gate));
    const items = await ctx.inbox();
    await ctx.step('check', () => {
      if (!failOnce.has(input.gate)) {
        failOnce.add(input.gate);
        throw new Error('first run fails');
      }
    });
    return { texts: items.map((i) => (i.body as { text?: string } | null)?.text ?? i.answer) };
  },
  { retry: { maxAttempts: 1 } },
);

/** Waits for its collected burst, then thinks until interrupted. */
const burstThenThink = defineWorkflow('rr.burst-think', async (ctx, input: { gate: string }) => {
  await ctx.step('busy', () => waitGate(input.gate));
  let items = await ctx.inbox();
  while (!items.length) {
    await ctx.sleep('50ms');
    items = await ctx.inbox();
  }
  const seen = items.map((i) => i.answer);
  await ctx.step('think', async ({ signal }) => {
    // The first pass thinks until the interrupt cuts it short; the rerun has the news.
    while (items.length < 2 && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) throw new Error('cut short');
  });
  return { seen };
});

interface EventRowT {
  id: string;
  decision: string;
  reason: string;
  workId: string | null;
  consumedAt: Date | null;
  [k: string]: unknown;
}

describe('inbox: nothing acknowledged is stranded', () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker;
  let ingest: IngestService;
  let seq = 0;

  beforeAll(async () => {
    db = await createTestSchema('inboxrr');
    prefix = testQueuePrefix();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { lease: '900ms', reconcileEvery: '300ms' },
          // Bursts of 20 scripted messages on one conversation: not a person to slow down.
          chat: { rateLimit: { messages: 0 } },
        },
      }),
      [quick, fails, asker, readsOnce, echo, reader, burstThenThink, failingChild, parent],
      [new NullSender()],
    );
    ingest = worker.app.get(IngestService);
  });

  afterAll(async () => {
    for (const k of gates.keys()) gates.set(k, true);
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const ledger = () => ledgerOf(db);

  function message(
    room: string,
    text: string,
    route: Partial<InboundEventInput['route']> = {},
    body: Record<string, unknown> = {},
  ): InboundEventInput {
    const n = ++seq;
    return {
      channel: 'chat',
      source: 'bot',
      externalId: `rr:${n}`,
      conversationKey: `chat:${room}`,
      correlationKey: null,
      actor: { id: 'chat:ana', name: 'ana' },
      raw: { text },
      body: { text, messageId: `u${n}`, ...body },
      answer: text,
      reference: null,
      command: null,
      route: { openKind: 'rr.echo', busyPolicy: 'inbox', collectWindowMs: 0, ...route },
      replyAddress: { channel: 'chat', target: room },
    };
  }

  const eventRow = async (id: string) =>
    (await db.query<EventRowT>('SELECT * FROM "InboundEvent" WHERE id = $1', [id]))[0]!;

  /** Starts `kind` on `room` and waits until its busy step runs. */
  async function startBusy(
    room: string,
    kind: string,
    route: Partial<InboundEventInput['route']> = {},
  ) {
    const gate = `${room}:gate`;
    gates.set(gate, false);
    const opened = await ingest.ingest(
      message(room, 'start', { openKind: kind, ...route }, { gate }),
    );
    expect(opened.decision).toBe('opened');
    const workId = opened.workId!;
    await until(
      async () => (await ledger().steps(workId)).some((s) => s.name === 'busy'),
      `${kind}'s busy step to start`,
    );
    return { workId, gate };
  }

  /**
   * The event ends up handled by another work (opened one, or resumed one), with the
   * reason on the event, on the ended work's timeline, and on the new work's.
   */
  async function expectRerouted(eventId: string, endedWorkId: string) {
    const row = await until(
      async () => {
        const r = await eventRow(eventId);
        return r.workId && r.workId !== endedWorkId && r.decision === 'opened' ? r : null;
      },
      `event ${eventId} routed again away from ended work ${endedWorkId}`,
      20_000,
    );
    expect(row.reason).toMatch(/routed again/);
    expect(row.reason).toContain(endedWorkId);
    const ended = await ledger().timeline(endedWorkId);
    expect(
      ended.find((e) => e.type === 'inbox_rerouted' && e.data.eventId === eventId),
    ).toBeTruthy();
    const fresh = await ledger().timeline(row.workId!);
    expect(JSON.stringify(fresh)).toMatch(/routed again/);
    const opened = await until(
      async () => ((await ledger().work(row.workId!)).state === 'COMPLETED' ? row.workId : null),
      'the re-routed message is handled',
    );
    return ledger().work(opened);
  }

  it('fast completion: a message in the inbox of a work that completes without reading it opens a new work', async () => {
    const { workId, gate } = await startBusy('c1', 'rr.quick');
    const late = await ingest.ingest(message('c1', 'are you there?'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    const handled = await expectRerouted(late.eventId, workId);
    expect(handled.output).toEqual({ echo: 'are you there?', more: [] });
  });

  it('fail: the inbox of a work that fails for good is routed again', async () => {
    const { workId, gate } = await startBusy('c2', 'rr.fails');
    const late = await ingest.ingest(message('c2', 'one more thing'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'FAILED', 'fails');
    await expectRerouted(late.eventId, workId);
  });

  it('child failure: the inbox of a parent that fails with its child is routed again', async () => {
    const { workId, gate } = await startBusy('c13', 'rr.parent');
    const late = await ingest.ingest(message('c13', 'how is it going?'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    gates.set(gate, true);
    await until(
      async () => (await ledger().work(workId)).state === 'FAILED',
      'fails with its child',
    );
    await expectRerouted(late.eventId, workId);
  });

  it('cancel at a step boundary: the inbox of a work cancelled while running is routed again', async () => {
    const { workId, gate } = await startBusy('c3', 'rr.quick');
    const late = await ingest.ingest(message('c3', 'never mind that'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    await worker.control.cancel(workId, 'operator:ana');
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'CANCELLED', 'cancelled');
    await expectRerouted(late.eventId, workId);
  });

  it('cancel by an operator: the inbox of a paused work cancelled at once is routed again', async () => {
    const { workId, gate } = await startBusy('c4', 'rr.quick');
    await worker.control.pause(workId, 'operator:ana');
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'PAUSED', 'paused');
    const late = await ingest.ingest(message('c4', 'hello?'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    await worker.control.cancel(workId, 'operator:ana');
    expect((await ledger().work(workId)).state).toBe('CANCELLED');
    await expectRerouted(late.eventId, workId);
  });

  it('wait timeout → fail: the inbox of a work whose question timed out is routed again', async () => {
    const { workId, gate } = await startBusy('c5', 'rr.asker');
    const late = await ingest.ingest(message('c5', 'text, not digits'));
    expect(late).toMatchObject({ decision: 'inbox', workId });
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'FAILED', 'times out');
    await expectRerouted(late.eventId, workId);
  });

  it('collect: a burst still inside its window when the work ends is routed again, every part', async () => {
    const route = { busyPolicy: 'collect' as const, collectWindowMs: 1_500 };
    const { workId, gate } = await startBusy('c6', 'rr.reads-once', route);
    const parts: Array<{ eventId: string; decision: string }> = [];
    for (const text of ['first', 'second'])
      parts.push(await ingest.ingest(message('c6', text, route)));
    expect(parts.map((p) => p.decision)).toEqual(['collected', 'collected']);
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(workId)).output).toEqual({ read: 0 });
    // Each part ends up handled: it opened a work of its own, or a later work read it.
    await until(async () => {
      const rows = await Promise.all(parts.map((p) => eventRow(p.eventId)));
      return rows.every((r) => r.workId !== workId && (r.decision === 'opened' || r.consumedAt));
    }, 'every part of the burst handled by another work');
    const ended = await ledger().timeline(workId);
    expect(ended.filter((e) => e.type === 'inbox_rerouted')).toHaveLength(2);
  });

  it('interrupt on the fast completion path: the interrupting message is not lost', async () => {
    const route = { busyPolicy: 'interrupt' as const };
    const { workId, gate } = await startBusy('c7', 'rr.quick', route);
    const late = await ingest.ingest(message('c7', 'stop, do this instead', route));
    expect(late).toMatchObject({ decision: 'interrupted', workId });
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    await expectRerouted(late.eventId, workId);
  });

  it('messages racing the completion: every one is handled, none stays in an ended work', async () => {
    const { workId, gate } = await startBusy('c8', 'rr.quick');
    const sending = Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 5));
        return ingest.ingest(message('c8', `m${i}`));
      }),
    );
    setTimeout(() => gates.set(gate, true), 40);
    const sent = await sending;
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    await until(
      async () => {
        const rows = await db.query<EventRowT & { state: string | null }>(
          `SELECT e.*, w.state FROM "InboundEvent" e LEFT JOIN "Work" w ON w.id = e."workId"
           WHERE e.id = ANY($1::uuid[])`,
          [sent.map((s) => s.eventId)],
        );
        const handled = rows.filter(
          (r) => r.decision === 'opened' || r.decision === 'resumed' || r.consumedAt,
        );
        return handled.length === sent.length && rows.every((r) => r.state !== 'RUNNING');
      },
      'every racing message handled (opened a work or read by one)',
      20_000,
    );
  });

  it('rerun: the events a discarded inbox read had taken go back to the inbox, in order', async () => {
    const { workId, gate } = await startBusy('c9', 'rr.reader');
    const a = await ingest.ingest(message('c9', 'alpha'));
    const b = await ingest.ingest(message('c9', 'beta'));
    expect([a.decision, b.decision]).toEqual(['inbox', 'inbox']);
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'FAILED', 'fails once');
    const inboxStep = (await ledger().steps(workId)).find((s) => s.name === '$inbox')!;
    await worker.control.rerunFromStep(workId, inboxStep.seq, 'operator:ana');
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'rerun completes');
    expect((await ledger().work(workId)).output).toEqual({ texts: ['alpha', 'beta'] });
  });

  it('interrupt restart: every event of a collected burst goes back to the inbox', async () => {
    const collect = { busyPolicy: 'collect' as const, collectWindowMs: 100 };
    const { workId, gate } = await startBusy('c10', 'rr.burst-think', collect);
    for (const text of ['first', 'second'])
      expect((await ingest.ingest(message('c10', text, collect))).decision).toBe('collected');
    gates.set(gate, true);
    await until(
      async () => (await ledger().steps(workId)).some((s) => s.name === 'think'),
      'the think step to start',
    );
    const news = await ingest.ingest(message('c10', 'third', { busyPolicy: 'interrupt' }));
    expect(news.decision).toBe('interrupted');
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(workId)).output).toEqual({ seen: ['first\nsecond', 'third'] });
  });
  it('reconciler: a marked event whose job was lost is routed again by the next pass', async () => {
    const { workId, gate } = await startBusy('c11', 'rr.quick');
    gates.set(gate, true);
    await until(async () => (await ledger().work(workId)).state === 'COMPLETED', 'completes');
    // As if the work had ended with this unread and the job after its commit were lost
    // (Redis wiped, the worker killed): only the ledger's marker is left.
    const lost = await ingest.ingest(message('c11', 'left behind', { openKind: null }));
    expect(lost.decision).toBe('dropped');
    await db.query(
      `UPDATE "InboundEvent" SET decision = 'inbox', "workId" = $2, "rerouteAt" = now(),
         "routePolicy" = $3 WHERE id = $1`,
      [
        lost.eventId,
        workId,
        JSON.stringify({ openKind: 'rr.echo', busyPolicy: 'inbox', collectWindowMs: 0 }),
      ],
    );
    await expectRerouted(lost.eventId, workId);
  });
  it('ingest racing the end of a work: never into the inbox of a work that ended under it', async () => {
    const { workId, gate } = await startBusy('c12', 'rr.quick');
    const blocker = await db.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM "Work" WHERE id = $1 FOR UPDATE', [workId]);
      // Ingest reads the candidates (the work is RUNNING), then waits for the work's row.
      const pending = ingest.ingest(message('c12', 'just in time?'));
      await until(
        async () =>
          (
            await db.query(
              `SELECT 1 FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM "Work" WHERE id = $1 FOR UPDATE%'`,
            )
          ).length,
        'ingest to wait on the work row',
      );
      // The work ends while ingest waits (as an operator's cancel would, in one commit).
      await blocker.query(
        `UPDATE "Work" SET state = 'CANCELLED', "finishedAt" = now(), version = version + 1 WHERE id = $1`,
        [workId],
      );
      await blocker.query('COMMIT');
      const result = await pending;
      expect(result.decision).toBe('opened');
      expect(result.workId).not.toBe(workId);
      expect(result.reason).toMatch(/ended \(CANCELLED\) before this reached its inbox/);
    } finally {
      await blocker.end();
      gates.set(gate, true);
    }
  });
});
