import { defineWorkflow, TimerWheel } from '@app/engine';
import { type EngineHarness, startEngine } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { jobIdsIn } from '@test/queue';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

/**
 * The timer wheel (TimerWheel): timers due within worker.timerLookahead fired in-process.
 * Every sleep here is an hour long and the test brings its due time forward in the
 * ledger, so its delayed job stays an hour away; the reconciler passes once at start and
 * then not for an hour. Only a wheel can fire these timers: a work that wakes was woken
 * by one. Hunted: an early fire, a fire after the due time moved, two workers' wheels
 * firing one timer twice, a paused work woken.
 */

/** How often each work's step after the sleep ran, across both workers (one process). */
const bodies = new Map<string, number>();

const sleeper = defineWorkflow('wheel.sleeper', async (ctx) => {
  await ctx.sleep(3_600_000);
  await ctx.step('after', () => {
    bodies.set(ctx.workId, (bodies.get(ctx.workId) ?? 0) + 1);
    return 'awake';
  });
  return { woke: true };
});

const LOOKAHEAD = { timerLookahead: '1s', reconcileEvery: '1h' };

describe('timer wheel', () => {
  let h: EngineHarness;
  let wheel: TimerWheel;

  beforeAll(async () => {
    h = await startEngine('timer_wheel', [sleeper], LOOKAHEAD);
    wheel = h.worker.app.get(TimerWheel);
  });

  afterAll(async () => {
    await h?.close();
  });

  /** Starts `n` sleepers and waits until each sleeps; returns their works and waits. */
  async function sleepers(n: number): Promise<Array<{ workId: string; waitId: string }>> {
    const ids = await Promise.all(
      Array.from({ length: n }, () =>
        h.worker.control.start('wheel.sleeper', {}, { actor: 'test' }).then((s) => s.workId!),
      ),
    );
    return until(
      async () => {
        const rows = await h.db.query<{ workId: string; waitId: string }>(
          `SELECT w."workId", w.id AS "waitId" FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
           WHERE w."workId" = ANY($1::uuid[]) AND w.status = 'open' AND k.state = 'WAITING'`,
          [ids],
        );
        return rows.length === n ? rows : null;
      },
      `${n} sleepers to sleep`,
      20_000,
    );
  }

  /** Moves the waits' due time to PostgreSQL's now() plus `ms` each; returns the instants. */
  async function dueIn(waitIds: string[], ms: number[]): Promise<Map<string, Date>> {
    const rows = await h.db.query<{ id: string; timeoutAt: Date }>(
      `UPDATE "Wait" w SET "timeoutAt" = clock_timestamp() + make_interval(secs => d.ms / 1000.0)
       FROM unnest($1::uuid[], $2::int[]) AS d(id, ms) WHERE w.id = d.id
       RETURNING w.id, w."timeoutAt"`,
      [waitIds, ms],
    );
    return new Map(rows.map((r) => [r.id, r.timeoutAt]));
  }

  /**
   * The fire's timeline entries and lateness (the fire's own clock check), and when the
   * step after the sleep started by PostgreSQL's clock (in a transaction after the fire's).
   */
  async function firedEntry(
    workId: string,
  ): Promise<{ resumedAt: Date; lateMs: number; n: number }> {
    const rows = await h.db.query<{ late: number; resumed: Date }>(
      `SELECT (e.data->>'lateMs')::float AS late, s."startedAt" AS resumed FROM "WorkEvent" e
       JOIN "Step" s ON s."workId" = e."workId" AND s.name = 'after'
       WHERE e."workId" = $1 AND e.type = 'timer_fired'`,
      [workId],
    );
    return { resumedAt: rows[0]!.resumed, lateMs: Number(rows[0]!.late), n: rows.length };
  }

  it('fires each timer at its due time, never before, and drops its delayed job', async () => {
    const slept = await sleepers(12);
    const due = await dueIn(
      slept.map((s) => s.waitId),
      slept.map((_, i) => 300 + i * 100),
    );
    for (const { workId, waitId } of slept) {
      const done = await h.ledger.untilState(workId, 'COMPLETED', 20_000);
      expect(done.output).toEqual({ woke: true });
      const fired = await firedEntry(workId);
      expect(fired.n).toBe(1);
      expect(fired.lateMs).toBeGreaterThanOrEqual(0);
      expect(fired.resumedAt.getTime()).toBeGreaterThanOrEqual(due.get(waitId)!.getTime());
      expect(bodies.get(workId)).toBe(1);
    }
    // Each fired timer's hour-away job is gone from the wake queue.
    const jobs = await jobIdsIn(h.prefix, 'wake');
    for (const { waitId } of slept) expect(jobs.some((id) => id.includes(waitId))).toBe(false);
  });

  it('a due time moved later after the timer was armed: fires at the new time', async () => {
    const [s] = await sleepers(1);
    await dueIn([s!.waitId], [400]);
    await until(() => wheel.size === 1, 'the timer to be armed', 5_000);
    const moved = (await dueIn([s!.waitId], [1_500])).get(s!.waitId)!;
    await h.ledger.untilState(s!.workId, 'COMPLETED', 20_000);
    const fired = await firedEntry(s!.workId);
    expect(fired.n).toBe(1);
    expect(fired.lateMs).toBeGreaterThanOrEqual(0);
    expect(fired.resumedAt.getTime()).toBeGreaterThanOrEqual(moved.getTime());
  });

  it('a work paused once its timer was armed sleeps on until resumed', async () => {
    const [s] = await sleepers(1);
    const due = (await dueIn([s!.waitId], [600])).get(s!.waitId)!;
    await until(() => wheel.size === 1, 'the timer to be armed', 5_000);
    await h.worker.control.pause(s!.workId, 'test');
    // The wheel let go of it (its fire found the work PAUSED) and the due time has passed.
    await until(
      () => wheel.size === 0 && Date.now() > due.getTime(),
      'the armed timer to have come due',
      5_000,
    );
    expect((await h.ledger.work(s!.workId)).state).toBe('PAUSED');
    expect((await h.ledger.timeline(s!.workId)).map((e) => e.type)).not.toContain('timer_fired');
    await h.worker.control.resume(s!.workId, 'test');
    await h.ledger.untilState(s!.workId, 'COMPLETED', 20_000);
    expect((await firedEntry(s!.workId)).n).toBe(1);
  });

  describe('two workers', () => {
    let second: TestWorker;

    beforeAll(async () => {
      second = await startWorker(
        testConfig({
          schema: h.db.schema,
          prefix: h.prefix,
          env: { WORKER_ID: 'second' },
          overrides: { worker: { lease: '2s', concurrency: 8, ...LOOKAHEAD } },
        }),
        [sleeper],
      );
    });

    afterAll(async () => {
      await second?.close();
    });

    it('both wheels arm the same 30 timers due at one instant: each fires once', async () => {
      const slept = await sleepers(30);
      const secondWheel = second.app.get(TimerWheel);
      await dueIn(
        slept.map((s) => s.waitId),
        slept.map(() => 1_200),
      );
      await until(
        () => wheel.size >= 30 && secondWheel.size >= 30,
        'both wheels to arm every timer',
        5_000,
      );
      for (const { workId } of slept) {
        await h.ledger.untilState(workId, 'COMPLETED', 20_000);
        const types = (await h.ledger.timeline(workId)).map((e) => e.type);
        expect(types.filter((t) => t === 'timer_fired')).toHaveLength(1);
        expect(types.filter((t) => t === 'completed')).toHaveLength(1);
        expect(bodies.get(workId)).toBe(1);
      }
    });
  });
});
