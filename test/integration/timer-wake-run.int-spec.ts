import { WorkgateError } from '@app/core';
import { defineWorkflow, WakeService, WorkRunner } from '@app/engine';
import { type EngineHarness, startEngine } from '@test/engine-ledger';
import { jobIdsIn } from '@test/queue';
import { until } from '@test/until';

/**
 * The wake job that fires a timer and claims its work in one transaction, then runs it
 * (WakeService.handleWaitTimer with a free run slot): the work goes WAITING → RUNNING
 * with no run job, falls back to the run job when no slot is free, never fires early,
 * and races with an answer, a cancel or a pause on the same wait with one outcome.
 */

/** Sleeps an hour (the test brings the due time forward), then finishes. */
const napper = defineWorkflow('wakerun.napper', async (ctx) => {
  await ctx.sleep(3_600_000);
  return { woke: true };
});

/** Waits for its key, or takes the default when the timeout fires. */
const racer = defineWorkflow('wakerun.racer', async (ctx, input: { key: string }) => {
  return ctx.waitFor<{ by: string }>({
    match: input.key,
    timeout: '1h',
    onTimeout: 'default',
    default: { by: 'timeout' },
  });
});

const CONCURRENCY = 4;
const ROUNDS = 12;

describe('timer wake runs the work it fires', () => {
  let h: EngineHarness;
  let wake: WakeService;
  let runner: WorkRunner;

  beforeAll(async () => {
    h = await startEngine('wake_run', [napper, racer], {
      concurrency: CONCURRENCY,
      // No timer wheel: the tests fire the timers they make due through the wake job.
      timerLookahead: 0,
    });
    wake = h.worker.app.get(WakeService);
    runner = h.worker.app.get(WorkRunner);
  });

  afterAll(async () => {
    await h?.close();
  });

  /** Starts `kind`, waits for its open wait, and makes that wait due now (its job stays an hour away). */
  async function waitingWork(
    kind: string,
    input: unknown = {},
    due = true,
  ): Promise<{ workId: string; waitId: string }> {
    const { workId } = await h.worker.control.start(kind, input, { actor: 'test' });
    const wait = await until(
      async () => {
        const [w] = await h.db.query<{ id: string; state: string }>(
          `SELECT w.id, k.state FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
           WHERE w."workId" = $1 AND w.status = 'open'`,
          [workId],
        );
        return w?.state === 'WAITING' ? w : null;
      },
      `work ${workId} to wait`,
      20_000,
    );
    if (due)
      await h.db.query(
        `UPDATE "Wait" SET "timeoutAt" = now() - interval '1 second' WHERE id = $1`,
        [wait.id],
      );
    return { workId: workId!, waitId: wait.id };
  }

  /** Every slot this worker can give a wake job, taken; the caller gives them back. */
  function takeAllSlots(): number {
    let n = 0;
    while (runner.reserveSlot()) n++;
    return n;
  }

  /** How many slots a wake job could take now (taken and given back). */
  function freeSlots(): number {
    const n = takeAllSlots();
    for (let i = 0; i < n; i++) runner.releaseSlot();
    return n;
  }

  it('fires, claims and runs the work from the wake job: no run job, one transaction', async () => {
    const { workId, waitId } = await waitingWork('wakerun.napper');
    const before = await h.ledger.work(workId);

    expect(await wake.handleWaitTimer({ waitId, rung: 0 })).toBe('fired');

    // The wake job started the run; it goes on after the job (in this worker's runs).
    const done = await h.ledger.untilState(workId, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ woke: true });
    const timeline = await h.ledger.timeline(workId);
    const fired = timeline.find((e) => e.type === 'timer_fired' && e.data.waitId === waitId)!;
    const claimed = timeline.find((e) => e.seq > fired.seq && e.type === 'claimed')!;
    expect(claimed.seq).toBe(fired.seq + 1);
    // One transaction: both entries were written by it (the same xmin).
    const xmins = await h.db.query<{ seq: number; xmin: string }>(
      'SELECT seq, xmin::text FROM "WorkEvent" WHERE "workId" = $1 AND seq = ANY($2::int[])',
      [workId, [fired.seq, claimed.seq]],
    );
    expect(xmins).toHaveLength(2);
    expect(xmins[0]!.xmin).toBe(xmins[1]!.xmin);
    expect(claimed.data).toMatchObject({ from: 'QUEUED', to: 'RUNNING', owner: runner.workerId });
    // No run job for the run that resumed the work.
    const runJobs = (await jobIdsIn(h.prefix, 'work')).filter((id) => id.includes(workId));
    expect(runJobs.every((id) => !id.endsWith(`:${before.runSeq + 1}`))).toBe(true);
    expect(runJobs.length).toBeLessThanOrEqual(1);
    // Every slot is free again once the run has ended.
    await until(() => freeSlots() === CONCURRENCY, 'every run slot to be free again');
  });

  it('with every run slot taken, fires to QUEUED and the run job runs the work', async () => {
    const { workId, waitId } = await waitingWork('wakerun.napper');
    const taken = takeAllSlots();
    try {
      expect(await wake.handleWaitTimer({ waitId, rung: 0 })).toBe('fired');
      const timeline = await h.ledger.timeline(workId);
      expect(timeline.at(-1)).toMatchObject({ type: 'timer_fired', data: { to: 'QUEUED' } });
    } finally {
      for (let i = 0; i < taken; i++) runner.releaseSlot();
    }
    const done = await h.ledger.untilState(workId, 'COMPLETED', 20_000);
    expect(done.output).toEqual({ woke: true });
  });

  it('never fires early: a wake job before the due time changes nothing and keeps no slot', async () => {
    const { workId, waitId } = await waitingWork('wakerun.napper', {}, false);
    expect(await wake.handleWaitTimer({ waitId, rung: 0 })).toBe('early');
    expect((await h.ledger.work(workId)).state).toBe('WAITING');
    const [wait] = await h.ledger.waits(workId);
    expect(wait).toMatchObject({ id: waitId, status: 'open' });
    expect((await h.ledger.timeline(workId)).map((e) => e.type)).not.toContain('timer_fired');
    expect(freeSlots()).toBe(CONCURRENCY);
    await h.worker.control.cancel(workId, 'test');
  });

  it(`a fused timeout vs a signal on the same wait, ${ROUNDS} times: exactly one wins`, async () => {
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, (_, i) => waitingWork('wakerun.racer', { key: `k${i}` })),
    );
    const outcomes = await Promise.all(
      rounds.map(async ({ workId, waitId }, i) => {
        const signal = () =>
          h.worker.control.signal(workId, { by: 'signal' }, 'test', waitId).then(
            () => true,
            (err: unknown) => {
              expect(err).toBeInstanceOf(WorkgateError);
              return false;
            },
          );
        const timer = () => wake.handleWaitTimer({ waitId, rung: 0 }).then((o) => o === 'fired');
        const [signalled, timedOut] =
          i % 2 === 0
            ? await Promise.all([signal(), timer()])
            : (await Promise.all([timer(), signal()])).reverse();
        return { workId, signalled, timedOut };
      }),
    );
    // The reconciler's due-timer sweep is a third contender (the due time is past): the
    // wait is resolved once, by whoever won, and the work ends with that winner's value.
    for (const o of outcomes) {
      expect(o.signalled && o.timedOut).toBe(false);
      const done = await h.ledger.untilState(o.workId, 'COMPLETED', 20_000);
      const [wait] = await h.ledger.waits(o.workId);
      expect(wait!.status).toBe(
        o.signalled ? 'satisfied' : o.timedOut ? 'timed_out' : wait!.status,
      );
      expect(done.output).toEqual({ by: wait!.status === 'satisfied' ? 'signal' : 'timeout' });
      const types = (await h.ledger.timeline(o.workId)).map((e) => e.type);
      expect(types.filter((t) => ['wait_satisfied', 'wait_timed_out'].includes(t))).toHaveLength(1);
    }
  });

  it(`a fused fire vs an operator cancel, ${ROUNDS} times: one end, no lease left`, async () => {
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, () => waitingWork('wakerun.napper')),
    );
    await Promise.all(
      rounds.map(({ workId, waitId }) =>
        Promise.all([
          wake.handleWaitTimer({ waitId, rung: 0 }),
          h.worker.control.cancel(workId, 'test').catch((err: unknown) => {
            // Refused only because the fired run already completed the work.
            expect(err).toBeInstanceOf(WorkgateError);
          }),
        ]),
      ),
    );
    for (const { workId } of rounds) {
      const done = await h.ledger.untilState(workId, ['COMPLETED', 'CANCELLED'], 20_000);
      expect(done.leaseOwner).toBeNull();
      const types = (await h.ledger.timeline(workId)).map((e) => e.type);
      expect(types.filter((t) => t === 'timer_fired').length).toBeLessThanOrEqual(1);
      if (done.state === 'COMPLETED') expect(types).toContain('timer_fired');
    }
  });

  it(`a fused fire vs a pause, ${ROUNDS} times: after resume every work completes once`, async () => {
    const rounds = await Promise.all(
      Array.from({ length: ROUNDS }, () => waitingWork('wakerun.napper')),
    );
    await Promise.all(
      rounds.map(({ workId, waitId }) =>
        Promise.all([
          wake.handleWaitTimer({ waitId, rung: 0 }),
          h.worker.control.pause(workId, 'test').catch((err: unknown) => {
            expect(err).toBeInstanceOf(WorkgateError);
          }),
        ]),
      ),
    );
    for (const { workId, waitId } of rounds) {
      const settled = await h.ledger.untilState(workId, ['PAUSED', 'COMPLETED'], 20_000);
      if (settled.state === 'PAUSED') await h.worker.control.resume(workId, 'test');
      const done = await h.ledger.untilState(workId, 'COMPLETED', 20_000);
      expect(done.output).toEqual({ woke: true });
      const types = (await h.ledger.timeline(workId)).map((e) => e.type);
      expect(types.filter((t) => t === 'timer_fired')).toHaveLength(1);
      const [wait] = await h.ledger.waits(workId);
      expect(wait).toMatchObject({ id: waitId, status: 'satisfied' });
    }
  });
});
