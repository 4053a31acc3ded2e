import { randomUUID } from 'node:crypto';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fc from 'fast-check';
import { type WorkSnapshot } from '@app/core';
import { type AppConfig, ConfigModule, createLogger } from '@app/config';
import { EngineModule, RunStore, WakeService } from '@app/engine';
import { type Dispatch, LedgerModule, WORK_DISPATCHER, type WorkDispatcher } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  arbSnapshot,
  DIFF_SEED,
  insertStep,
  insertWork,
  readTimeline,
  readWork,
  snapshotWithLeaseLength,
} from '@test/work-differential';

/**
 * The wake job's fused fire+claim (WakeService.fire with a run slot) against the general
 * path it skips: fire, commit, then the run job's claim (RunClaimSystem.claim) — on the
 * same generated starting rows (a work in any state, its timer or question wait, open or
 * already resolved, due or not, with some recorded steps). The rows each leaves (state,
 * version, lease, timeline, wait) and the claim each hands the run must be the same.
 */
const NUM_RUNS = 60;
const OWNER = 'worker-diff';
const LEASE_MS = 30_000;

interface Start {
  snap: WorkSnapshot;
  waitType: 'timer' | 'human';
  waitStatus: 'open' | 'satisfied';
  dueOffsetMs: number;
  steps: number;
}

const arbStart: fc.Arbitrary<Start> = fc.record({
  // WAITING most often: the state a timer fires from; the others must be left alone.
  snap: fc.oneof(
    { weight: 3, arbitrary: arbSnapshot(Date.now(), ['WAITING']) },
    { weight: 1, arbitrary: arbSnapshot(Date.now()) },
  ),
  waitType: fc.constantFrom('timer' as const, 'human' as const),
  waitStatus: fc.constantFrom('open' as const, 'open' as const, 'satisfied' as const),
  // Due (past) or not yet (5 s or more ahead: "early" cannot flip while the test runs).
  dueOffsetMs: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 60_000 }) },
  ),
  steps: fc.nat(3),
});

/** The ledger, the run store and WakeService, without a worker (no WorkRunner: no slots). */
async function wakeContext(config: AppConfig): Promise<INestApplicationContext> {
  @Module({
    imports: [
      ConfigModule.forRoot({ config, logger: createLogger(config, 'test'), name: 'test' }),
      LedgerModule,
      EngineModule.forGateway(),
    ],
    providers: [RunStore, WakeService],
  })
  class WakeTestModule {}
  return NestFactory.createApplicationContext(WakeTestModule, { logger: false });
}

describe('timer fire+claim differential: one transaction vs fire then claim', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let store: RunStore;
  let wake: WakeService;
  let dispatched: Dispatch[];

  beforeAll(async () => {
    db = await createTestSchema('difftimer');
    prefix = testQueuePrefix();
    ctx = await wakeContext(testConfig({ schema: db.schema, prefix }));
    store = ctx.get(RunStore);
    const dispatcher = ctx.get<WorkDispatcher>(WORK_DISPATCHER);
    // Observed, not replaced: the jobs still go to (this file's prefix in) Redis.
    const real = dispatcher.dispatch.bind(dispatcher);
    dispatcher.dispatch = (items: Dispatch[]) => {
      dispatched.push(...items);
      return real(items);
    };
    wake = ctx.get(WakeService);
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  async function insert(start: Start): Promise<{ workId: string; waitId: string }> {
    const workId = await insertWork(db, start.snap, { kind: 'diff.timer' });
    for (let seq = 1; seq <= start.steps; seq++)
      await insertStep(db, workId, { seq, status: 'completed' });
    const waitId = randomUUID();
    await db.query(
      `INSERT INTO "Wait" (id, "workId", "stepSeq", type, status, "timeoutAt", escalation, "escalationRung")
       VALUES ($1, $2, $3, $4::"WaitType", $5::"WaitStatus", now() + $6::int * interval '1 millisecond', $7, 0)`,
      [
        waitId,
        workId,
        start.steps + 1,
        start.waitType,
        start.waitStatus,
        start.dueOffsetMs,
        start.waitType === 'human'
          ? JSON.stringify([{ afterMs: 0, action: 'default', value: 'dflt' }])
          : null,
      ],
    );
    return { workId, waitId };
  }

  /** What a path left, with what differs by construction (ids, clock readings) taken out. */
  async function observe(workId: string, waitId: string) {
    const snap = snapshotWithLeaseLength(await readWork(db, workId));
    const timeline = (await readTimeline(db, workId)).map((e) => {
      const { lateMs, waitId: w, ...data } = e.data;
      return { type: e.type, actor: e.actor, data, late: typeof lateMs, sameWait: w === waitId };
    });
    const [wait] = await db.query<Record<string, unknown>>(
      'SELECT status, result, "escalationRung", "resolvedAt" IS NOT NULL AS resolved FROM "Wait" WHERE id = $1',
      [waitId],
    );
    const sent = dispatched
      .filter((d) => !('workId' in d) || d.workId === workId)
      .map((d) => ({ type: d.type, waitId: 'waitId' in d ? d.waitId === waitId : null }));
    return { snap, timeline, wait, sent };
  }

  it('leaves the same rows and hands the run the same claim as fire then claim', async () => {
    const seenOutcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbStart, async (start) => {
        // The general path: fire, commit, then the claim the run job makes.
        const general = await insert(start);
        dispatched = [];
        const fired = await wake.fire(general.waitId, 0);
        const runJob = dispatched.some((d) => d.type === 'run' && d.workId === general.workId);
        const claimed = runJob
          ? await store.claims.claim(general.workId, OWNER, LEASE_MS)
          : undefined;
        const seen = await observe(general.workId, general.waitId);

        // The fused path on a copy of the same rows.
        const fused = await insert(start);
        dispatched = [];
        const got = await wake.fire(fused.waitId, 0, { owner: OWNER, leaseMs: LEASE_MS });
        const after = await observe(fused.workId, fused.waitId);

        // An early fire's "due at" is each copy's own (its timeoutAt is from now()).
        const kind = (r: typeof got.result) => (typeof r === 'object' ? 'early' : r);
        expect(kind(got.result)).toBe(kind(fired.result));
        expect(after.snap).toEqual(seen.snap);
        expect(after.timeline).toEqual(seen.timeline);
        expect(after.wait).toEqual(seen.wait);
        seenOutcomes.add(claimed?.ok ? 'claimed' : kind(fired.result));
        if (claimed?.ok) {
          // Claimed in the fire's transaction: the run job it replaces is not enqueued.
          expect(got.claim).toBeDefined();
          expect(got.claim!.token).toBe(claimed.token);
          expect(got.claim!.work.state).toBe('RUNNING');
          expect(got.claim!.steps.map((s) => [s.seq, s.status])).toEqual(
            claimed.steps.map((s) => [s.seq, s.status]),
          );
          expect(after.sent).toEqual(seen.sent.filter((d) => d.type !== 'run'));
        } else {
          expect(got.claim).toBeUndefined();
          expect(after.sent).toEqual(seen.sent);
        }
      }),
      { numRuns: NUM_RUNS, seed: DIFF_SEED },
    );
    // The generator reaches the fused claim and the paths that must leave things alone.
    expect([...seenOutcomes].sort()).toEqual(expect.arrayContaining(['claimed', 'early', 'stale']));
  });
});
