import { type INestApplicationContext } from '@nestjs/common';
import { LedgerDatabase, OutboxRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { deleteKeys, testQueuePrefix } from '@test/redis';

/**
 * Attempt 1 of a delivery outlives its deadline (a slow provider), attempt 2 takes the
 * row: whatever attempt 1 reports late must not overwrite attempt 2's state.
 */
describe(`${OutboxRepository.name}: outcomes belong to their attempt`, () => {
  let db: TestSchema;
  let prefix: string;
  let ctx: INestApplicationContext;
  let outbox: OutboxRepository;
  let ledger: LedgerDatabase;

  beforeAll(async () => {
    db = await createTestSchema('outboxattempts');
    prefix = testQueuePrefix();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
    outbox = ctx.get(OutboxRepository);
    ledger = ctx.get(LedgerDatabase);
  });

  afterAll(async () => {
    await ctx?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  /** A row whose attempt 1 ran past its deadline and attempt 2 has taken. */
  async function secondAttemptUnderWay(key: string): Promise<string> {
    const id = crypto.randomUUID();
    await ledger.transaction(async (c) => {
      await outbox.insert(c, {
        id,
        workId: null,
        stepId: null,
        channel: 'http',
        target: 'http://127.0.0.1:9/x',
        payload: { kind: 'message', text: 'hi' },
        idempotencyKey: key,
      });
      const now = Date.now();
      expect((await outbox.claim(c, id, new Date(now), new Date(now - 1)))?.attempts).toBe(1);
      expect((await outbox.claim(c, id, new Date(now), new Date(now + 60_000)))?.attempts).toBe(2);
    });
    return id;
  }

  const row = (id: string) => ledger.transaction((c) => outbox.find(c, id));

  it('keeps attempt 2 pending and its deadline when attempt 1 fails or retries late', async () => {
    const id = await secondAttemptUnderWay('late-1');
    const before = (await row(id))!;
    await ledger.transaction((c) =>
      outbox.reschedule(c, id, 1, new Date(0), 'timeout (attempt 1)'),
    );
    await ledger.transaction((c) => outbox.markFailed(c, id, 1, 'gave up (attempt 1)'));
    expect(await row(id)).toMatchObject({
      status: 'pending',
      attempts: 2,
      nextAttemptAt: before.nextAttemptAt,
      lastError: null,
    });
    // Attempt 2's own outcome applies.
    expect(await ledger.transaction((c) => outbox.markSent(c, id, 2, 'm-2'))).toBe(true);
    expect(await row(id)).toMatchObject({ status: 'sent', providerMessageId: 'm-2' });
  });

  it('keeps attempt 2 sent when attempt 1 reports a failure after it', async () => {
    const id = await secondAttemptUnderWay('late-2');
    expect(await ledger.transaction((c) => outbox.markSent(c, id, 2, 'm-2'))).toBe(true);
    await ledger.transaction((c) => outbox.markFailed(c, id, 1, 'gave up (attempt 1)'));
    await ledger.transaction((c) => outbox.markSent(c, id, 1, 'm-1'));
    expect(await row(id)).toMatchObject({
      status: 'sent',
      providerMessageId: 'm-2',
      lastError: null,
    });
  });
});
