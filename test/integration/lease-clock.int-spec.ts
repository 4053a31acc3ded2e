import { type Clock, DEFAULT_RETRY_POLICY, type RetryPolicy } from '@app/core';
import { LeaseService, LedgerDatabase, WorkRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';

const HOUR = 3_600_000;
const POLICY: RetryPolicy = DEFAULT_RETRY_POLICY;

/**
 * Lease expiry is decided on one clock, PostgreSQL's: claims and heartbeats write the
 * expiry as now() + lease and the sweep compares with now(). A worker whose own clock
 * is an hour off must neither write a live lease that the sweep sees expired nor one
 * that outlives it by an hour.
 */
describe(`${LeaseService.name}: one clock for leases`, () => {
  let db: TestSchema;
  let ledger: LedgerDatabase;

  beforeAll(async () => {
    db = await createTestSchema('leaseclock');
    ledger = new LedgerDatabase({
      connectionString: TEST_DATABASE_URL,
      schema: db.schema,
      poolSize: 2,
    });
  });

  afterAll(async () => {
    await ledger?.close();
    await db?.drop();
  });

  function leasesOn(skewMs: number) {
    const clock: Clock = { now: () => Date.now() + skewMs };
    const works = new WorkRepository(clock);
    return { works, leases: new LeaseService(ledger, works, clock) };
  }

  async function queuedWork(works: WorkRepository): Promise<string> {
    const id = crypto.randomUUID();
    await ledger.transaction((c) =>
      works.create(
        c,
        {
          id,
          kind: 'clock',
          sourceType: 'test',
          sourceId: null,
          conversationKey: null,
          input: {},
          retryPolicy: POLICY,
        },
        'test',
      ),
    );
    return id;
  }

  /** Seconds from PostgreSQL's now() to the work's lease expiry. */
  const expiresIn = async (id: string) =>
    (
      await db.query<{ s: number }>(
        `SELECT extract(epoch FROM "leaseExpiresAt" - now())::float8 AS s FROM "Work" WHERE id = $1`,
        [id],
      )
    )[0]!.s;

  it('a claim by a worker whose clock is an hour behind holds a live lease', async () => {
    const { works, leases } = leasesOn(-HOUR);
    const id = await queuedWork(works);
    const claimed = await leases.claim(id, 'slow-clock', 60_000);
    expect(claimed.ok).toBe(true);
    const left = await expiresIn(id);
    expect(left).toBeGreaterThan(50);
    expect(left).toBeLessThanOrEqual(60);
  });

  it('a heartbeat by a worker whose clock is an hour ahead does not stretch the lease by an hour', async () => {
    const { works, leases } = leasesOn(HOUR);
    const id = await queuedWork(works);
    const claimed = await leases.claim(id, 'fast-clock', 60_000);
    expect(claimed.ok).toBe(true);
    expect(await expiresIn(id)).toBeLessThanOrEqual(60);
    expect(await leases.renew(id, claimed.ok ? claimed.token : 0n, 2_000)).toBe(true);
    const left = await expiresIn(id);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(2);
  });
});
