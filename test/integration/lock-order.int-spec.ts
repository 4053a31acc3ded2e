import { WorkgateError } from '@app/core';
import { defineWorkflow, WakeService } from '@app/engine';
import { IngestService } from '@app/ledger';
import {
  correlatedEvent,
  type EngineHarness,
  gate,
  type Gate,
  startEngine,
} from '@test/engine-ledger';
import { until } from '@test/until';

/**
 * One lock order for every ledger path (docs/decisions.md, "Lock order"): each pair of
 * paths that lock the same rows is raced many times through the real code, and neither
 * a deadlock (40P01, surfaced to the caller or counted by PostgreSQL) nor an
 * inconsistent result (two winners of a wait, a work left in a wrong state) may show.
 */

/** Waits for its key (a due timeout the test brings forward), defaulting on timeout. */
const racer = defineWorkflow('locks.racer', async (ctx, input: { key: string }) => {
  return ctx.waitFor<{ by: string }>({
    match: input.key,
    expects: { type: 'object', required: ['by'] },
    timeout: '1h',
    onTimeout: 'default',
    default: { by: 'timeout' },
  });
});

/** Waits on its key, is held by the test, then waits on the same key again. */
const holds = new Map<string, Gate>();
const twice = defineWorkflow('locks.twice', async (ctx, input: { key: string }) => {
  const a = await ctx.waitFor<{ n: number }>({ match: input.key });
  await ctx.step('hold', () => holds.get(input.key)!.promise);
  const b = await ctx.waitFor<{ n: number }>({ match: input.key });
  return { a, b };
});

const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** A PostgreSQL deadlock anywhere in an error's cause chain. */
function isDeadlock(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e;) {
    if (e.code === '40P01' || (typeof e.message === 'string' && /deadlock/i.test(e.message)))
      return true;
    e = e.cause as typeof e;
  }
  return false;
}

describe('one lock order: racing ledger paths never deadlock', () => {
  let h: EngineHarness;
  let ingest: IngestService;
  let wake: WakeService;
  const deadlocks: unknown[] = [];
  let deadlocksBefore = 0;

  /** Runs a contender; a refusal (WorkgateError) is an answer, a deadlock is recorded. */
  async function contend<T>(fn: () => Promise<T>): Promise<T | 'refused'> {
    try {
      return await fn();
    } catch (err) {
      if (isDeadlock(err)) deadlocks.push(err);
      else if (!(err instanceof WorkgateError)) throw err;
      return 'refused';
    }
  }

  async function countedDeadlocks(): Promise<number> {
    await h.db.query('SELECT pg_stat_clear_snapshot()');
    const [row] = await h.db.query<{ n: string }>(
      'SELECT deadlocks::text AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(row!.n);
  }

  /** `due`: the timeout made due now, a contender; the others race only with the work ending. */
  async function startRacers(n: number, label: string, due = true) {
    const keys = Array.from({ length: n }, (_, i) => `${label}:${i}:${Date.now()}`);
    const ids = await Promise.all(
      keys.map(
        async (key) =>
          (await h.worker.control.start('locks.racer', { key }, { actor: 'test' })).workId!,
      ),
    );
    const waits = await until(
      async () => {
        const rows = await h.db.query<{ id: string; workId: string }>(
          `SELECT w.id, w."workId" FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
           WHERE k.id = ANY($1::uuid[]) AND k.state = 'WAITING' AND w.status = 'open'`,
          [ids],
        );
        return rows.length === n ? rows : null;
      },
      `all ${n} ${label} racers to wait`,
      60_000,
    );
    const waitOf = new Map(waits.map((w) => [w.workId, w.id]));
    // Due now: the timer job itself stays an hour away, so the test's call is its only firing.
    if (due)
      await h.db.query(
        `UPDATE "Wait" SET "timeoutAt" = now() - interval '1 second' WHERE id = ANY($1::uuid[])`,
        [waits.map((w) => w.id)],
      );
    return ids.map((workId, i) => ({ workId, key: keys[i]!, waitId: waitOf.get(workId)! }));
  }

  /** Exactly one resolution of the wait; a work ended, or alive only if the wait was answered. */
  async function expectOneWinner(workId: string, waitId: string) {
    const work = await h.ledger.untilState(workId, TERMINAL, 60_000);
    const wait = (await h.ledger.waits(workId)).find((w) => w.id === waitId)!;
    expect(wait.status).not.toBe('open');
    const timeline = await h.ledger.timeline(workId);
    const resolutions = timeline.filter((e) =>
      ['wait_satisfied', 'wait_timed_out'].includes(e.type),
    );
    expect(resolutions.length).toBeLessThanOrEqual(1);
    if (work.state === 'COMPLETED') {
      expect(resolutions).toHaveLength(1);
      const by = resolutions[0]!.type === 'wait_satisfied' ? 'answer' : 'timeout';
      expect(work.output).toEqual({ by });
      expect(wait.status).toBe(by === 'answer' ? 'satisfied' : 'timed_out');
    } else {
      expect(work.state).toBe('CANCELLED');
    }
    return work;
  }

  beforeAll(async () => {
    // A held step keeps its worker slot: room for every work of a round at once.
    h = await startEngine('lock_order', [racer, twice], {
      reconcileEvery: '1h',
      // No timer wheel: the test's call is the only firing of a timer it made due.
      timerLookahead: 0,
      concurrency: 48,
    });
    ingest = h.worker.app.get(IngestService);
    wake = h.worker.app.get(WakeService);
    deadlocksBefore = await countedDeadlocks();
  });

  afterAll(async () => {
    for (const held of holds.values()) held.open();
    await h?.close();
  });

  it('a reply on a key vs the work opening its next wait on that key, 40 times', async () => {
    const N = 40;
    const keys = Array.from({ length: N }, (_, i) => `twice:${i}:${Date.now()}`);
    for (const key of keys) holds.set(key, gate());
    const ids = await Promise.all(
      keys.map(
        async (key) =>
          (await h.worker.control.start('locks.twice', { key }, { actor: 'test' })).workId!,
      ),
    );
    await until(
      async () => {
        const rows = await h.db.query(
          `SELECT 1 FROM "Work" WHERE id = ANY($1::uuid[]) AND state = 'WAITING'`,
          [ids],
        );
        return rows.length === N;
      },
      'all to wait the first time',
      60_000,
    );
    // The first answer: each work then runs into its held step, its key named by a wait.
    for (const key of keys) await ingest.ingest(correlatedEvent(key, { n: 1 }));
    await until(
      async () => {
        const rows = await h.db.query(
          `SELECT 1 FROM "Step" WHERE "workId" = ANY($1::uuid[]) AND name = 'hold' AND status = 'running'`,
          [ids],
        );
        return rows.length === N;
      },
      'all to hold',
      60_000,
    );
    // Released at once with the second answer: the worker's openWait and ingest's routing
    // of the reply take the key's lock and the work's row at the same moment.
    await Promise.all(
      keys.map(async (key, i) => {
        const reply = contend(() => ingest.ingest(correlatedEvent(key, { n: 2 })));
        if (i % 2) holds.get(key)!.open();
        else setImmediate(() => holds.get(key)!.open());
        await reply;
      }),
    );
    for (const id of ids) {
      const work = await h.ledger.untilState(id, TERMINAL, 60_000);
      expect(work).toMatchObject({ state: 'COMPLETED', output: { a: { n: 1 }, b: { n: 2 } } });
    }
    expect(deadlocks).toEqual([]);
  });

  it('operator cancel vs the timer vs a reply, on the same wait, 40 times', async () => {
    const racers = await startRacers(40, 'three');
    await Promise.all(
      racers.map(async ({ workId, key, waitId }, i) => {
        const contenders = [
          () => contend(() => h.worker.control.cancel(workId, 'operator:test')),
          () => contend(() => wake.handleWaitTimer({ waitId, rung: 0 })),
          () => contend(() => ingest.ingest(correlatedEvent(key, { by: 'answer' }))),
        ];
        // Rotate who goes first, so no path always has the head start.
        await Promise.all([0, 1, 2].map((k) => contenders[(k + i) % 3]!()));
      }),
    );
    for (const r of racers) await expectOneWinner(r.workId, r.waitId);
    expect(deadlocks).toEqual([]);
  });

  it('a signal vs an operator cancel, 40 times', async () => {
    const racers = await startRacers(40, 'signal', false);
    await Promise.all(
      racers.map(async ({ workId }, i) => {
        const signal = () =>
          contend(() => h.worker.control.signal(workId, { by: 'answer' }, 'operator:test'));
        const cancel = () => contend(() => h.worker.control.cancel(workId, 'operator:test'));
        await Promise.all(i % 2 ? [signal(), cancel()] : [cancel(), signal()]);
      }),
    );
    for (const r of racers) await expectOneWinner(r.workId, r.waitId);
    expect(deadlocks).toEqual([]);
  });

  it('a rerun vs a reply on its key, 40 times', async () => {
    // Not due: the cancels below go one by one, and a timer fired among them (by the
    // reconciler's pass when a lease runs out) would have completed the work first.
    const racers = await startRacers(40, 'rerun', false);
    // Ended first (cancelled), so the rerun is allowed; the reply lands on the key at once.
    for (const r of racers) await h.worker.control.cancel(r.workId, 'operator:test');
    await Promise.all(
      racers.map(async ({ workId, key }, i) => {
        const [step] = (await h.ledger.steps(workId)).filter((s) => s.type !== 'step');
        const rerun = () =>
          contend(() => h.worker.control.rerunFromStep(workId, step?.seq ?? 1, 'operator:test'));
        const reply = () => contend(() => ingest.ingest(correlatedEvent(key, { by: 'answer' })));
        await Promise.all(i % 2 ? [rerun(), reply()] : [reply(), rerun()]);
      }),
    );
    // Whatever each rerun did, the ledger settles: every work ends or waits again.
    for (const r of racers) {
      await until(
        async () => ['WAITING', ...TERMINAL].includes((await h.ledger.work(r.workId)).state),
        `work ${r.workId} to settle`,
        60_000,
      );
    }
    expect(deadlocks).toEqual([]);
  });

  it('PostgreSQL counted no deadlock in this database while the races ran', async () => {
    // Other files sharing the database could add to the count; none of ours may.
    expect((await countedDeadlocks()) - deadlocksBefore).toBe(0);
  });
});
