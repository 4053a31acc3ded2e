import { ErrorCode, WorkgateError } from '@app/core';
import { defineWorkflow, NonRetryableError, WakeService } from '@app/engine';
import { IngestService } from '@app/ledger';
import {
  correlatedEvent,
  type EngineHarness,
  eventsOfType,
  gate,
  type Gate,
  startEngine,
} from '@test/engine-ledger';
import { until } from '@test/until';

/** Waits for its key with a long timeout the test brings forward, defaulting on timeout. */
const racer = defineWorkflow('waits.racer', async (ctx, input: { key: string }) => {
  const got = await ctx.waitFor<{ by: string }>({
    match: input.key,
    expects: { type: 'object', required: ['by'] },
    timeout: '1h',
    onTimeout: 'default',
    default: { by: 'timeout' },
  });
  return got;
});

/** Held by the test in two slow steps; each is followed by a wait on the same key. */
const slowGates = new Map<string, Gate[]>();
const earlyBird = defineWorkflow('waits.early-bird', async (ctx, input: { key: string }) => {
  const [first, second] = slowGates.get(input.key)!;
  await ctx.step('slow-1', () => first!.promise);
  const a = await ctx.waitFor<{ n: number }>({ match: input.key });
  await ctx.step('slow-2', () => second!.promise);
  const b = await ctx.waitFor<{ n: number }>({ match: input.key });
  return { a, b };
});

const childGates = new Map<number, Gate>();
const double = defineWorkflow(
  'waits.double',
  async (ctx, input: { n: number }) => {
    await ctx.step('hold', () => childGates.get(input.n)?.promise);
    return ctx.step('double', () => {
      if (input.n < 0) throw new NonRetryableError('negative input', 'negative');
      return input.n * 2;
    });
  },
  { retry: { maxAttempts: 1 } },
);

const parent = defineWorkflow(
  'waits.parent',
  async (ctx, input: { n: number; catchFailure?: boolean }) => {
    const before = await ctx.step('before', () => 'ready');
    try {
      const doubled = await ctx.child<number>('waits.double', { n: input.n });
      return { before, doubled };
    } catch (err) {
      if (!input.catchFailure) throw err;
      const e = err as Error & { code: string; state: string; childWorkId: string };
      return { before, fallback: { name: e.name, code: e.code, state: e.state } };
    }
  },
  // Generous on purpose: a child's failure is a recorded outcome, retrying cannot change it.
  { retry: { maxAttempts: 4, initialIntervalMs: 100 } },
);

describe('engine waits: races, early events, children', () => {
  let h: EngineHarness;
  let ingest: IngestService;
  let wake: WakeService;

  beforeAll(async () => {
    // No periodic reconciler pass: in the race, the answer and the timer handler are the
    // only two contenders, so each outcome can be attributed.
    h = await startEngine('eng_waits', [racer, earlyBird, double, parent], {
      reconcileEvery: '1h',
      // No timer wheel either: it would fire the due timers the test fires by hand.
      timerLookahead: 0,
    });
    ingest = h.worker.app.get(IngestService);
    wake = h.worker.app.get(WakeService);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('an answer and the timeout at the same instant, 100 times: exactly one winner each time', async () => {
    const N = 100;
    const keys = Array.from({ length: N }, (_, i) => `race:${i}:${Date.now()}`);
    const ids = await Promise.all(
      keys.map(
        async (key) =>
          (await h.worker.control.start('waits.racer', { key }, { actor: 'test' })).workId!,
      ),
    );
    const waits = await until(
      async () => {
        const rows = await h.db.query<{ id: string; workId: string }>(
          `SELECT w.id, w."workId" FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
           WHERE k.kind = 'waits.racer' AND k.state = 'WAITING' AND w.status = 'open'`,
        );
        return rows.length === N ? rows : null;
      },
      `all ${N} racers to wait`,
      30_000,
    );
    const waitOf = new Map(waits.map((w) => [w.workId, w.id]));
    // The timeout is due now: its timer job stays an hour away, so the only contenders are
    // the two calls below (the job, when it fires, finds the wait resolved).
    await h.db.query(
      `UPDATE "Wait" SET "timeoutAt" = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
      [waits.map((w) => w.id)],
    );

    const outcomes = await Promise.all(
      ids.map(async (workId, i) => {
        const waitId = waitOf.get(workId)!;
        // Half answer through ingest (a webhook with the correlation key), half by signal.
        const answer = async (): Promise<boolean> => {
          if (i % 2 === 0) {
            const res = await ingest.ingest(correlatedEvent(keys[i]!, { by: 'answer' }));
            // 'dropped' when the timeout won and its run (claimed in the wake job's own
            // transaction) already completed the work: no live work is left to take it.
            expect(['resumed', 'inbox', 'dropped']).toContain(res.decision);
            return res.decision === 'resumed';
          }
          try {
            await h.worker.control.signal(workId, { by: 'answer' }, 'operator:test');
            return true;
          } catch (err) {
            expect(err).toBeInstanceOf(WorkgateError);
            expect((err as WorkgateError).code).toBe(ErrorCode.InvalidTransition);
            return false;
          }
        };
        const timeout = async () => (await wake.handleWaitTimer({ waitId, rung: 0 })) === 'fired';
        // Alternate who starts first, so neither path always has the head start.
        const [answered, timedOut] =
          i % 4 < 2
            ? await Promise.all([answer(), timeout()])
            : (await Promise.all([timeout(), answer()])).reverse();
        return { workId, waitId, answered, timedOut };
      }),
    );

    for (const o of outcomes) expect(o.answered !== o.timedOut).toBe(true);
    const done = await Promise.all(
      ids.map((id) => h.ledger.untilState(id, ['COMPLETED', 'FAILED'], 30_000)),
    );
    for (const [i, o] of outcomes.entries()) {
      const work = done[i]!;
      expect(work.state).toBe('COMPLETED');
      expect(work.output).toEqual({ by: o.answered ? 'answer' : 'timeout' });
      const [wait] = await h.ledger.waits(o.workId);
      expect(wait).toMatchObject({
        id: o.waitId,
        status: o.answered ? 'satisfied' : 'timed_out',
        result: { by: o.answered ? 'answer' : 'timeout' },
      });
      const timeline = await h.ledger.timeline(o.workId);
      const resolutions = timeline.filter((e) =>
        ['wait_satisfied', 'wait_timed_out'].includes(e.type),
      );
      expect(resolutions.map((e) => e.type)).toEqual([
        o.answered ? 'wait_satisfied' : 'wait_timed_out',
      ]);
      expect(eventsOfType(timeline, 'claimed')).toHaveLength(2);
      expect(eventsOfType(timeline, 'completed')).toHaveLength(1);
    }
    // Both paths won some of the races (otherwise this proved nothing about the race).
    const answered = outcomes.filter((o) => o.answered).length;
    expect(answered).toBeGreaterThan(0);
    expect(answered).toBeLessThan(N);
  });

  it('an event that arrives before the wait it answers is taken from the inbox', async () => {
    const key = `early:${Date.now()}`;
    const gates = [gate(), gate()];
    slowGates.set(key, gates);
    const { workId } = await h.worker.control.start('waits.early-bird', { key }, { actor: 'test' });
    const running = async (name: string) =>
      until(async () => {
        const steps = await h.ledger.steps(workId!);
        const w = await h.ledger.work(workId!);
        return (
          w.state === 'RUNNING' && steps.some((s) => s.name === name && s.status === 'running')
        );
      }, `work to be running ${name}`);

    // Before the work ever named the key: kept with no work, for the wait to consume.
    await running('slow-1');
    const first = await ingest.ingest(correlatedEvent(key, { n: 1 }));
    expect(first).toMatchObject({ decision: 'inbox', workId: null });
    gates[0]!.open();
    await running('slow-2');
    // The first wait was answered from the inbox without ever suspending the work.
    expect(eventsOfType(await h.ledger.timeline(workId!), 'waiting')).toHaveLength(0);

    // The work has named the key now: the event goes to its inbox while it runs.
    const second = await ingest.ingest(correlatedEvent(key, { n: 2 }));
    expect(second).toMatchObject({ decision: 'inbox', workId });
    gates[1]!.open();

    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED']);
    expect(done.output).toEqual({ a: { n: 1 }, b: { n: 2 } });
    const timeline = await h.ledger.timeline(workId!);
    expect(eventsOfType(timeline, 'waiting')).toHaveLength(0);
    const fromInbox = eventsOfType(timeline, 'wait_satisfied_from_inbox');
    expect(fromInbox.map((e) => e.data.eventId)).toEqual([first.eventId, second.eventId]);

    const waits = await h.ledger.waits(workId!);
    expect(waits.map((w) => [w.status, w.satisfiedByEventId])).toEqual([
      ['satisfied', first.eventId],
      ['satisfied', second.eventId],
    ]);
    const events = await h.db.query<any>(
      'SELECT id, "workId", "waitId", "consumedAt" FROM "InboundEvent" WHERE "correlationKey" = $1 ORDER BY seq',
      [key],
    );
    expect(events.map((e) => [e.id, e.workId, e.waitId])).toEqual([
      [first.eventId, workId, waits[0]!.id],
      [second.eventId, workId, waits[1]!.id],
    ]);
    expect(events.every((e) => e.consumedAt !== null)).toBe(true);
  });

  it('child(): the parent waits for the child and gets its output', async () => {
    const held = gate();
    childGates.set(21, held);
    const { workId } = await h.worker.control.start('waits.parent', { n: 21 }, { actor: 'test' });
    const waiting = await h.ledger.untilState(workId!, 'WAITING');
    expect(waiting.waitReason).toBe('child');
    const [child] = await h.db.query<any>('SELECT * FROM "Work" WHERE "parentId" = $1', [workId]);
    expect(child).toMatchObject({ kind: 'waits.double', sourceType: 'child', input: { n: 21 } });
    const [wait] = await h.ledger.waits(workId!);
    expect(wait).toMatchObject({
      type: 'child',
      status: 'open',
      matchKeys: { childWorkId: child.id },
    });

    held.open();
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED']);
    expect(done.output).toEqual({ before: 'ready', doubled: 42 });
    expect((await h.ledger.work(child.id)).state).toBe('COMPLETED');
    const resumed = eventsOfType(await h.ledger.timeline(workId!), 'wait_satisfied');
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatchObject({
      actor: `work:${child.id}`,
      data: { childWorkId: child.id, outcome: 'COMPLETED' },
    });
  });

  it('a failing child fails the parent with ChildWorkError, at once (a retry cannot change it)', async () => {
    const { workId } = await h.worker.control.start('waits.parent', { n: -1 }, { actor: 'test' });
    const failed = await h.ledger.untilState(workId!, ['FAILED', 'COMPLETED']);
    expect(failed.state).toBe('FAILED');
    const [child] = await h.db.query<any>('SELECT * FROM "Work" WHERE "parentId" = $1', [workId]);
    expect(child).toMatchObject({ state: 'FAILED', error: { code: 'negative' } });
    expect(failed.error).toMatchObject({ name: 'ChildWorkError', code: 'child_failed' });
    expect(failed.error.message).toContain(child.id);
    expect(failed.attempt).toBe(1);
    const types = await h.ledger.types(workId!);
    expect(types).not.toContain('retry_scheduled');
    expect(types.at(-1)).toBe('failed');
    // Exactly one child was started.
    expect(await h.db.query('SELECT id FROM "Work" WHERE "parentId" = $1', [workId])).toHaveLength(
      1,
    );
  });

  it('a parent may catch its child failure and carry on', async () => {
    const { workId } = await h.worker.control.start(
      'waits.parent',
      { n: -2, catchFailure: true },
      { actor: 'test' },
    );
    const done = await h.ledger.untilState(workId!, ['COMPLETED', 'FAILED']);
    expect(done.state).toBe('COMPLETED');
    expect(done.output).toEqual({
      before: 'ready',
      fallback: { name: 'ChildWorkError', code: 'child_failed', state: 'FAILED' },
    });
  });
});
