import { randomUUID } from 'node:crypto';
import { defineWorkflow, RetentionService } from '@app/engine';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { startWorker, type TestWorker } from '@test/worker';

const done = defineWorkflow('retention.done', async (ctx) => {
  await ctx.step('one', async () => 1);
  return ctx.step('two', async () => 2);
});
const waiting = defineWorkflow('retention.waiting', async (ctx, input: { key: string }) =>
  ctx.waitFor({ match: input.key, timeout: '1h' }),
);

/**
 * Retention on real rows: old finished works go with everything hanging off them, live
 * and recent works stay whatever their age, and an inbound event stays (so a redelivery
 * is still a duplicate) for its channel's whole dedupe window.
 */
describe(RetentionService.name, () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker | undefined;
  let ledger: ReturnType<typeof ledgerOf>;

  beforeEach(async () => {
    db = await createTestSchema('retention');
    prefix = testQueuePrefix();
    ledger = ledgerOf(db);
  });

  /** Reconcile passes only at start and when the test asks; retention on every pass. */
  async function boot(retention: Record<string, unknown> = {}): Promise<TestWorker> {
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { reconcileEvery: 600_000 },
        retention: { after: '30d', every: '1ms', batchSize: 2, batchesPerPass: 50, ...retention },
      },
    });
    worker = await startWorker(config, [done, waiting]);
    // The start-up pass (which runs retention too) is over before the test ages rows:
    // otherwise it may delete some of them beside the test's own run.
    await worker.reconciler.reconcile();
    return worker;
  }

  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await deleteKeys(prefix);
    await db?.drop();
  });

  const retention = () => worker!.app.get(RetentionService);
  const ingest = () => worker!.app.get(IngestService);

  async function finishedWork(): Promise<string> {
    const { workId } = await worker!.control.start(done.name, {}, { actor: 'test' });
    await ledger.untilState(workId!, 'COMPLETED');
    return workId!;
  }

  const age = (table: string, column: string, ids: string[], interval: string) =>
    db.query(
      `UPDATE "${table}" SET "${column}" = now() - $2::interval WHERE id = ANY($1::uuid[])`,
      [ids, interval],
    );

  const count = async (sql: string, params: unknown[]) =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${sql}`, params))[0]!.n);

  /** A chat update that opens nothing (decision dropped): only its dedupe record remains. */
  const chatEvent = (channel: string, externalId: string) => ({
    channel,
    source: 'main',
    externalId,
    conversationKey: `${channel}:main:1`,
    correlationKey: null,
    actor: { id: '1' },
    raw: { text: 'hi' },
    body: { text: 'hi' },
    answer: 'hi',
    reference: null,
    command: null,
    route: { openKind: null, busyPolicy: 'inbox' as const, collectWindowMs: 0 },
  });

  it('deletes old finished works with their steps, timeline, outbox rows and model calls; keeps live and recent ones', async () => {
    await boot();
    const [old, oldWithPending, recent] = [
      await finishedWork(),
      await finishedWork(),
      await finishedWork(),
    ];
    const { workId: live } = await worker!.control.start(
      waiting.name,
      { key: 'k1' },
      { actor: 'test' },
    );
    await ledger.untilState(live!, 'WAITING');
    for (const id of [old, oldWithPending]) {
      await db.query(
        `INSERT INTO "ModelCall" (id, "workId", provider, model, "promptHash", "latencyMs")
         VALUES ($1, $2, 'openai', 'gpt-test', 'h', 5)`,
        [randomUUID(), id],
      );
    }
    await db.query(
      `INSERT INTO "Outbox" (id, "workId", channel, target, payload, "idempotencyKey", status)
       VALUES ($1, $2, 'http', 'hook', '{}', $3, 'sent'), ($4, $5, 'http', 'hook', '{}', $6, 'pending')`,
      [randomUUID(), old, `k:${old}`, randomUUID(), oldWithPending, `k:${oldWithPending}`],
    );
    await age('Work', 'updatedAt', [old, oldWithPending, live!], '31 days');
    await age('Work', 'updatedAt', [recent], '29 days');

    const report = await retention().runOnce();

    expect(report).toMatchObject({ works: 1, backlog: false });
    expect(await count('"Work" WHERE id = $1', [old])).toBe(0);
    for (const table of ['Step', 'WorkEvent', 'ModelCall', 'Outbox', 'Wait'])
      expect(await count(`"${table}" WHERE "workId" = $1`, [old])).toBe(0);
    // Still delivering, live, or not old enough: all stay, with their history.
    for (const id of [oldWithPending, recent, live!]) expect((await ledger.work(id)).id).toBe(id);
    expect(await ledger.steps(recent)).toHaveLength(2);
    expect((await ledger.waits(live!))[0]).toMatchObject({ status: 'open' });
    // The API event that opened the old work outlives it as a dedupe record (7d window).
    expect(await count(`"InboundEvent" WHERE channel = 'api' AND "workId" IS NULL`, [])).toBe(1);
  });

  it('runs in the reconciler pass, batch after batch', async () => {
    await boot();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await finishedWork());
    await age('Work', 'updatedAt', ids, '40 days');
    await db.query(`UPDATE "InboundEvent" SET "receivedAt" = now() - interval '40 days'`);

    await worker!.reconciler.reconcile();

    // Five works and five API events, two a batch: the reconciler's pass did it all.
    expect(await count('"Work"', [])).toBe(0);
    expect(await count('"InboundEvent"', [])).toBe(0);
  });

  it('stops at batchesPerPass and reports the backlog', async () => {
    await boot({ batchesPerPass: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await finishedWork());
    await age('Work', 'updatedAt', ids, '40 days');
    const svc = retention();
    const first = await svc.runOnce();
    expect(first).toMatchObject({ works: 4, backlog: true });
    expect(await count('"Work"', [])).toBe(1);
  });

  it("keeps each channel's events for its dedupe window, so a redelivery inside it is still a duplicate", async () => {
    await boot();
    const first = await ingest().ingest(chatEvent('telegram', 'upd:1'));
    const expired = await ingest().ingest(chatEvent('telegram', 'upd:2'));
    const slack = await ingest().ingest(chatEvent('slack', 'ev:1'));
    const hook = await ingest().ingest(chatEvent('webhook', 'gh:1'));
    const oldHook = await ingest().ingest(chatEvent('webhook', 'gh:2'), {
      rawBody: Buffer.from('{"text":"hi"}'),
    });
    // Telegram's window defaults to 48h, Slack's to 24h, webhooks' to 7d.
    await age('InboundEvent', 'receivedAt', [first.eventId], '30 hours');
    await age('InboundEvent', 'receivedAt', [expired.eventId], '3 days');
    await age('InboundEvent', 'receivedAt', [slack.eventId], '25 hours');
    await age('InboundEvent', 'receivedAt', [hook.eventId], '3 days');
    await age('InboundEvent', 'receivedAt', [oldHook.eventId], '8 days');
    expect(await count(`"InboundRawBody" WHERE "externalId" = 'gh:2'`, [])).toBe(1);

    const report = await retention().runOnce();

    expect(report.inboundEvents).toBe(3);
    // A signed delivery's exact bytes go with its event.
    expect(await count(`"InboundRawBody" WHERE "externalId" = 'gh:2'`, [])).toBe(0);
    expect((await ingest().ingest(chatEvent('telegram', 'upd:1'))).duplicate).toBe(true);
    expect((await ingest().ingest(chatEvent('webhook', 'gh:1'))).duplicate).toBe(true);
    // Past the window the record is gone: the same id is a new event.
    expect((await ingest().ingest(chatEvent('telegram', 'upd:2'))).duplicate).toBe(false);
    expect((await ingest().ingest(chatEvent('slack', 'ev:1'))).duplicate).toBe(false);
  });

  it('keeps old events a live work still holds', async () => {
    await boot();
    const { workId: live } = await worker!.control.start(
      waiting.name,
      { key: 'k2' },
      { actor: 'test' },
    );
    await ledger.untilState(live!, 'WAITING');
    await db.query(`UPDATE "InboundEvent" SET "receivedAt" = now() - interval '40 days'`);
    expect((await retention().runOnce()).inboundEvents).toBe(0);
    expect(await count(`"InboundEvent" WHERE "workId" = $1`, [live])).toBe(1);
  });
});
