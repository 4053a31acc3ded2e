import { z } from 'zod';
import { Client } from 'pg';
import { defineTool } from '@app/agent';
import { defineWorkflow } from '@app/engine';
import { LedgerDatabase } from '@app/ledger';
import { createTestEnv, type TestEnv } from '../../libs/sdk/src/testing';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { until } from '@test/until';

const naps = defineWorkflow(
  'kit-naps',
  async (ctx, input) => {
    await ctx.sleep('1h');
    const answer = await ctx.ask<string>({
      text: `approve ${input.item}?`,
      timeout: '2h',
      onTimeout: 'default',
      default: 'nobody answered',
    });
    const event = await ctx.waitFor<{ ok: boolean }>({
      match: `shop:${input.item}`,
      timeout: '1d',
    });
    return { answer, event, at: (await ctx.now()).toISOString() };
  },
  { input: z.object({ item: z.string() }) },
);

const lookup = defineTool({
  name: 'kit_lookup',
  description: 'looks something up',
  parameters: z.object({ id: z.string() }),
  run: async ({ id }) => ({ id }),
});

describe('createTestEnv (@workgate/sdk/testing)', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv({
      workflows: [naps],
      tools: [lookup],
      databaseUrl: TEST_DATABASE_URL,
      redisUrl: TEST_REDIS_URL,
    });
  }, 60_000);

  afterAll(async () => {
    await env?.close();
  });

  it('skips an hour of sleep and a two-hour ask timeout in wall-clock seconds', async () => {
    const began = Date.now();
    const id = await env.start('kit-naps', { item: 'a1' });
    // The event arrives first and waits in the work's inbox until waitFor reads it.
    await env.sendEvent({ correlationKey: 'shop:a1', payload: { ok: true } });
    const result = await env.result(id);
    expect(result).toMatchObject({
      state: 'COMPLETED',
      output: { answer: 'nobody answered', event: { ok: true } },
    });
    // The work's own clock passed the hour of sleep and the two hours of the ask.
    const at = Date.parse((result.output as { at: string }).at);
    expect(at - began).toBeGreaterThanOrEqual(3 * 3_600_000);
    // No wall-clock bound (a loaded machine makes any bound flaky): three hours of the
    // work's clock passing inside this test's jest timeout is the skip being shown.
  });

  it('advances by hand, and a signal answers the ask before its timeout', async () => {
    const id = await env.start('kit-naps', { item: 'b2' });
    const skipped = env.clock.skippedMs;
    await env.advance('1h');
    const asked = () =>
      env.app
        .get(LedgerDatabase)
        .pool.query(
          `SELECT 1 FROM "Wait" WHERE "workId" = $1 AND type = 'human' AND status = 'open'`,
          [id],
        );
    await until(
      async () => (await asked()).rowCount === 1,
      'the ask to open after the sleep',
      10_000,
    );
    await env.signal(id, 'yes');
    await env.sendEvent({ correlationKey: 'shop:b2', payload: { ok: false } });
    const result = await env.result(id);
    expect(result).toMatchObject({
      state: 'COMPLETED',
      output: { answer: 'yes', event: { ok: false } },
    });
    expect(env.clock.skippedMs - skipped).toBe(3_600_000);
  });

  it('runs a second environment beside the first, and close() drops its schema and keys', async () => {
    const other = await createTestEnv({
      workflows: [naps],
      tools: [lookup],
      databaseUrl: TEST_DATABASE_URL,
      redisUrl: TEST_REDIS_URL,
    });
    const schema = other.config.env.WORKGATE_DB_SCHEMA;
    expect(schema).not.toBe(env.config.env.WORKGATE_DB_SCHEMA);
    await other.close();
    const pg = new Client({ connectionString: TEST_DATABASE_URL });
    await pg.connect();
    try {
      const { rowCount } = await pg.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
        schema,
      ]);
      expect(rowCount).toBe(0);
    } finally {
      await pg.end();
    }
  });
});
