import { type INestApplicationContext } from '@nestjs/common';
import { DEFAULT_RETRY_POLICY } from '@app/core';
import {
  LeaseService,
  LedgerDatabase,
  WORK_DISPATCHER,
  type WorkDispatcher,
  WorkRepository,
} from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { jobIdsIn } from '@test/queue';
import { deleteKeys, testQueuePrefix } from '@test/redis';

describe(LeaseService.name, () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let leases: LeaseService;
  let ledger: LedgerDatabase;
  let works: WorkRepository;
  let n = 0;

  beforeAll(async () => {
    db = await createTestSchema('leases');
    prefix = testQueuePrefix();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
    leases = ctx.get(LeaseService);
    ledger = ctx.get(LedgerDatabase);
    works = ctx.get(WorkRepository);
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  async function newWork(): Promise<string> {
    const id = `01890000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
    await ledger.transaction((client) =>
      works.create(
        client,
        {
          id,
          kind: 'k',
          sourceType: 'test',
          sourceId: null,
          conversationKey: null,
          input: {},
          retryPolicy: DEFAULT_RETRY_POLICY,
        },
        'test',
      ),
    );
    return id;
  }

  const row = async (id: string) =>
    (await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [id]))[0];

  it('a claim hands out a new fencing token with an expiry; a second claim is refused', async () => {
    const id = await newWork();
    const first = await leases.claim(id, 'w1', 30_000);
    expect(first).toMatchObject({ ok: true, token: 1n });
    const claimed = await row(id);
    expect(claimed).toMatchObject({ state: 'RUNNING', leaseOwner: 'w1', leaseToken: '1' });
    expect(claimed.leaseExpiresAt.getTime()).toBeGreaterThan(Date.now() + 25_000);
    expect(await leases.claim(id, 'w2', 30_000)).toMatchObject({
      ok: false,
      code: 'invalid_state',
    });
  });

  it('of 20 concurrent claims exactly one wins', async () => {
    const id = await newWork();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => leases.claim(id, `w${i}`, 30_000)),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect((await row(id)).leaseToken).toBe('1');
  });

  it('renews only for the holder of the current token', async () => {
    const id = await newWork();
    const claim = await leases.claim(id, 'w1', 1_000);
    if (!claim.ok) throw new Error(claim.reason);
    const before = (await row(id)).leaseExpiresAt.getTime();
    expect(await leases.renew(id, claim.token, 60_000)).toBe(true);
    expect((await row(id)).leaseExpiresAt.getTime()).toBeGreaterThan(before + 50_000);
    expect(await leases.renew(id, claim.token + 1n, 60_000)).toBe(false);
    expect(await leases.renew(id, claim.token - 1n, 60_000)).toBe(false);
  });

  it('release requeues under a new run (and job); the old token can write nothing afterwards', async () => {
    const id = await newWork();
    const first = await leases.claim(id, 'w1', 30_000);
    if (!first.ok) throw new Error(first.reason);
    // A graceful shutdown gives the work back (the engine's RunStore.release does this).
    const released = await ledger.transaction((client) =>
      works.apply(client, id, { type: 'release', token: first.token }, { actor: 'worker:w1' }),
    );
    if (!released.ok) throw new Error(released.reason);
    await ctx.get<WorkDispatcher>(WORK_DISPATCHER).dispatch(released.dispatches);
    expect(await row(id)).toMatchObject({
      state: 'QUEUED',
      leaseOwner: null,
      runSeq: 2,
      attempt: 1,
    });
    expect(await jobIdsIn(prefix)).toContain(`work:${id}:2`);

    const second = await leases.claim(id, 'w2', 30_000);
    expect(second).toMatchObject({ ok: true, token: 2n });
    // The first worker, unaware, tries to write a step result and to complete.
    const stale = await ledger.transaction((client) =>
      works.apply(
        client,
        id,
        { type: 'step_completed', token: first.token, seq: 1 },
        { actor: 'worker:w1' },
      ),
    );
    expect(stale).toMatchObject({ ok: false, code: 'stale_lease' });
    const staleDone = await ledger.transaction((client) =>
      works.apply(client, id, { type: 'complete', token: first.token }, { actor: 'worker:w1' }),
    );
    expect(staleDone).toMatchObject({ ok: false, code: 'stale_lease' });
    expect(await leases.renew(id, first.token, 30_000)).toBe(false);
    expect(await row(id)).toMatchObject({ state: 'RUNNING', leaseOwner: 'w2', leaseToken: '2' });

    const timeline = await db.query<{ type: string; actor: string }>(
      'SELECT type, actor FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq',
      [id],
    );
    expect(timeline).toEqual([
      { type: 'created', actor: 'test' },
      { type: 'claimed', actor: 'worker:w1' },
      { type: 'released', actor: 'worker:w1' },
      { type: 'claimed', actor: 'worker:w2' },
    ]);
  });
});
