import { type INestApplicationContext } from '@nestjs/common';
import fc from 'fast-check';
import { transition, type WorkSnapshot } from '@app/core';
import { EngineControl, RunStore } from '@app/engine';
import {
  AS_CREATED_GUARD,
  asCreated,
  LedgerDatabase,
  toSnapshot,
  WorkRepository,
} from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import {
  arbSnapshot,
  createRunStoreContext,
  DIFF_SEED,
  insertStep,
  insertWork,
  readTimeline,
  readWork,
  snapshotWithLeaseLength,
} from '@test/work-differential';

/**
 * The run job's claim of a work its creation enqueued, decided on the row as created
 * without reading it (RunClaimSystem, `asCreated`), against the general claim (read the
 * row and its steps, then the conditional write) — on the same generated starting rows:
 * rows exactly as created, rows as created but for one column (which no real work has,
 * and which the guard must refuse), and any row the ledger can hold, with or without
 * steps. The rows each leaves and the claim each hands the run must be the same; the
 * one-statement write must land exactly on the rows that are as created.
 */
const NUM_RUNS = 80;
const OWNER = 'worker-diff';
const LEASE_MS = 30_000;

const created = (): WorkSnapshot => {
  const result = transition(null, {
    type: 'create',
    retryPolicy: toSnapshot(asCreated('x')).retryPolicy,
  });
  if (!result.ok) throw new Error('create rejected');
  return result.next;
};

/** One column off its created value: each of them alone must make the guard refuse. */
const arbOneOff: fc.Arbitrary<WorkSnapshot> = fc
  .constantFrom(
    { state: 'WAITING' as const },
    { state: 'PAUSED' as const, pausedFrom: 'QUEUED' as const },
    { attempt: 2 },
    { runSeq: 2 },
    { leaseToken: 1n },
    { runAfter: Date.now() - 60_000 },
    { runAfter: Date.now() + 60_000 },
    { checkpointSeq: 1 },
    { version: 1 },
  )
  .map((change) => ({ ...created(), ...change }));

interface Start {
  snap: WorkSnapshot;
  steps: number;
}

const arbStart: fc.Arbitrary<Start> = fc.record({
  snap: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null).map(created) },
    { weight: 2, arbitrary: arbOneOff },
    { weight: 1, arbitrary: arbSnapshot(Date.now()) },
  ),
  steps: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(2) }),
});

/** Every column the claim's guard checks holds its created value, and no steps. */
function isAsCreated(start: Start): boolean {
  const c = created();
  const s = start.snap;
  return (
    start.steps === 0 &&
    s.state === c.state &&
    s.pausedFrom === c.pausedFrom &&
    s.attempt === c.attempt &&
    s.runSeq === c.runSeq &&
    s.leaseToken === c.leaseToken &&
    s.leaseExpiresAt === c.leaseExpiresAt &&
    s.runAfter === c.runAfter &&
    !s.pauseRequested &&
    !s.cancelRequested &&
    s.checkpointSeq === c.checkpointSeq &&
    s.version === c.version
  );
}

describe('as-created claim differential: one statement vs read then claim', () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let store: RunStore;
  let works: WorkRepository;

  beforeAll(async () => {
    db = await createTestSchema('diffcreated');
    prefix = testQueuePrefix();
    ctx = await createRunStoreContext(testConfig({ schema: db.schema, prefix }));
    store = ctx.get(RunStore);
    works = ctx.get(WorkRepository);
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  async function insert(start: Start): Promise<string> {
    const workId = await insertWork(db, start.snap, { kind: 'diff.created' });
    for (let seq = 1; seq <= start.steps; seq++)
      await insertStep(db, workId, { seq, status: 'completed' });
    return workId;
  }

  /** What a claim left, with what differs by construction (ids, clock readings) taken out. */
  async function observe(workId: string) {
    const snap = snapshotWithLeaseLength(await readWork(db, workId));
    const timeline = (await readTimeline(db, workId)).map((e) => ({
      seq: e.seq,
      type: e.type,
      actor: e.actor,
      data: e.data,
    }));
    return { snap, timeline };
  }

  const claimSeen = (c: Awaited<ReturnType<RunStore['claims']['claim']>>) =>
    c.ok
      ? {
          ok: true,
          token: c.token,
          state: c.work.state,
          version: c.work.version,
          steps: c.steps.map((s) => [s.seq, s.status]),
        }
      : { ok: false, code: c.code };

  it('leaves the same rows and hands the run the same claim as read then claim', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(arbStart, async (start) => {
        const general = await insert(start);
        const byRead = await store.claims.claim(general, OWNER, LEASE_MS);
        const fast = await insert(start);
        const asMade = await store.claims.claim(fast, OWNER, LEASE_MS, { asCreated: true });
        expect(claimSeen(asMade)).toEqual(claimSeen(byRead));
        expect(await observe(fast)).toEqual(await observe(general));

        // The one-statement write itself lands on exactly the rows that are as created;
        // on any other it writes nothing and says so.
        const probe = await insert(start);
        const before = await observe(probe);
        const [command, entry] = [
          { type: 'claim' as const, owner: OWNER, leaseMs: LEASE_MS, now: Date.now() },
          { actor: `worker:${OWNER}`, data: { owner: OWNER } },
        ];
        const applied = await works.applyKnown(
          ctx.get(LedgerDatabase).pool,
          asCreated(probe),
          command,
          {
            ...entry,
            guard: AS_CREATED_GUARD,
          },
        );
        const took = applied !== 'stale' && applied.ok;
        expect(took).toBe(isAsCreated(start));
        if (!took) expect(await observe(probe)).toEqual(before);
        seen.add(took ? 'took' : byRead.ok ? 'general-claimed' : 'refused');
      }),
      { numRuns: NUM_RUNS, seed: DIFF_SEED },
    );
    expect([...seen].sort()).toEqual(['general-claimed', 'refused', 'took']);
  });

  it('one claim wins when the run job races a second job, a cancel or a pause of the new work', async () => {
    const control = ctx.get(EngineControl, { strict: false });
    const racers = {
      'a second job': (id: string) =>
        store.claims.claim(id, 'worker-other', LEASE_MS, { asCreated: true }),
      'the general claim': (id: string) => store.claims.claim(id, 'worker-other', LEASE_MS),
      'a cancel': (id: string) => control.cancel(id, 'operator'),
      'a pause': (id: string) => control.pause(id, 'operator'),
    };
    for (const [name, race] of Object.entries(racers)) {
      for (let i = 0; i < 15; i++) {
        const id = await insert({ snap: created(), steps: 0 });
        const [mine, theirs] = await Promise.allSettled([
          store.claims.claim(id, OWNER, LEASE_MS, { asCreated: true }),
          race(id),
        ]);
        if (mine.status !== 'fulfilled') throw mine.reason;
        const row = await readWork(db, id);
        const timeline = await readTimeline(db, id);
        const claims = timeline.filter((e) => e.type === 'claimed');
        // Exactly one claim when two claims race; none but this one's against a cancel or a pause.
        const expected =
          name.endsWith('cancel') || name.endsWith('pause') ? (mine.value.ok ? 1 : 0) : 1;
        expect({ race: name, claims: claims.length }).toEqual({ race: name, claims: expected });
        if (theirs.status === 'rejected') throw theirs.reason;
        if (mine.value.ok) {
          expect(row.leaseOwner).toBe(OWNER);
          expect(row.leaseToken).toBe(mine.value.token.toString());
          expect(claims.map((e) => e.actor)).toEqual([`worker:${OWNER}`]);
          if (name === 'a cancel') expect(row.cancelRequested).toBe(true);
          if (name === 'a pause') expect(row.pauseRequested).toBe(true);
        } else if (name === 'a cancel') expect(row.state).toBe('CANCELLED');
        else if (name === 'a pause') expect(row.state).toBe('PAUSED');
        else expect(row.leaseOwner).toBe('worker-other');
        // The timeline's seqs stay gapless: the two writers never took the same seq.
        expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, k) => k + 1));
      }
    }
  });
});
