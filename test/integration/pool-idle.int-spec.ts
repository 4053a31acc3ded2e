import { type INestApplicationContext } from '@nestjs/common';
import { LedgerDatabase } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/**
 * `database.poolIdleTimeout`: how long the ledger's pool keeps an idle connection. A
 * reopened one costs PostgreSQL a backend, its catalog caches and the prepared
 * statements, paid by the first requests of the next burst, so the default keeps them
 * ten minutes; a short setting must still close them (the option reaches the pool).
 */
describe('the ledger pool and its idle connections', () => {
  let db: TestSchema;
  const contexts: INestApplicationContext[] = [];

  beforeAll(async () => {
    db = await createTestSchema('poolidle');
  });

  afterAll(async () => {
    for (const ctx of contexts) await ctx.close();
    await db?.drop();
  });

  async function ledgerWith(overrides: Record<string, unknown>): Promise<LedgerDatabase> {
    const ctx = await createLedgerContext(
      testConfig({ schema: db.schema, prefix: testQueuePrefix(), overrides }),
    );
    contexts.push(ctx);
    return ctx.get(LedgerDatabase);
  }

  /** This pool's backends, by the pid its application_name carries. */
  async function backends(ledger: LedgerDatabase): Promise<number> {
    const { rows } = await ledger.pool.query<{ name: string }>(
      'SELECT current_setting($1) AS name',
      ['application_name'],
    );
    const [row] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [rows[0]!.name],
    );
    return row!.n;
  }

  /** Three connections at once: three statements that each hold theirs for a moment. */
  const openThree = (ledger: LedgerDatabase) =>
    Promise.all([1, 2, 3].map(() => ledger.pool.query('SELECT pg_sleep(0.05)')));

  it('keeps idle connections ten minutes by default', async () => {
    const ledger = await ledgerWith({});
    expect(ledger.pool.options.idleTimeoutMillis).toBe(600_000);
    await openThree(ledger);
    expect(ledger.pool.totalCount).toBe(3);
    expect(await backends(ledger)).toBe(3);
  });

  it('closes them after a shorter database.poolIdleTimeout', async () => {
    const ledger = await ledgerWith({ database: { poolIdleTimeout: '200ms' } });
    await openThree(ledger);
    expect(ledger.pool.totalCount).toBe(3);
    await until(async () => ledger.pool.totalCount === 0, 'the idle connections to close', 5_000);
  });
});
