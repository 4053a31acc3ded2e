import { randomUUID } from 'node:crypto';
import { type INestApplicationContext } from '@nestjs/common';
import { LedgerDatabase, OperatorConversationRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { testQueuePrefix } from '@test/redis';

/**
 * The transcript behind GET /api/v1/works/{id}/conversation, read through Prisma Client
 * on a migrated schema: which inbound events belong to a work's conversation, how they
 * interleave with its outbox messages, and the page of the newest messages.
 */
describe(OperatorConversationRepository.name, () => {
  let db: TestSchema;
  let app: INestApplicationContext;
  let repo: OperatorConversationRepository;
  let extSeq = 0;

  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, s));

  async function work(): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO "Work" (id, kind, state, "sourceType", input, "retryPolicy")
       VALUES ($1, 'chat', 'WAITING', 'telegram', '{}', '{}')`,
      [id],
    );
    return id;
  }

  async function inbound(
    workId: string,
    s: number,
    decision: string,
    body: unknown,
    opts: { consumed?: boolean; actor?: unknown } = {},
  ): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO "InboundEvent" (id, channel, source, "externalId", actor, raw, body, decision, reason,
         "workId", "consumedAt", "receivedAt")
       VALUES ($1, 'telegram', 'bot', $2, $3, '{}', $4, $5::"RouteDecision", 'test', $6, $7, $8)`,
      [
        id,
        `bot:${++extSeq}`,
        JSON.stringify(opts.actor ?? { id: 'telegram:111', name: 'Alice' }),
        JSON.stringify(body),
        decision,
        workId,
        opts.consumed ? at(s + 1) : null,
        at(s),
      ],
    );
    return id;
  }

  async function outbox(
    workId: string,
    s: number,
    payload: unknown,
    status = 'sent',
    lastError: string | null = null,
  ): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO "Outbox" (id, "workId", channel, target, payload, "idempotencyKey", status, attempts,
         "lastError", "createdAt", "sentAt")
       VALUES ($1, $2, 'telegram', 'bot:42', $3, $4, $5::"OutboxStatus", 1, $6, $7, $8)`,
      [
        id,
        workId,
        JSON.stringify(payload),
        `key-${id}`,
        status,
        lastError,
        at(s),
        status === 'sent' ? at(s) : null,
      ],
    );
    return id;
  }

  beforeAll(async () => {
    db = await createTestSchema('op_conversation');
    app = await createLedgerContext(testConfig({ schema: db.schema, prefix: testQueuePrefix() }));
    repo = app.get(OperatorConversationRepository);
  });

  afterAll(async () => {
    await app?.get(LedgerDatabase).close();
    await app?.close();
    await db?.drop();
  });

  it('merges what was said and what was sent in time order, with delivery status', async () => {
    const id = await work();
    const opened = await inbound(id, 0, 'opened', { text: 'deploy v2' });
    const ask = await outbox(id, 1, {
      kind: 'ask',
      waitId: randomUUID(),
      text: 'Ship it?',
      expects: { type: 'boolean' },
      responders: null,
    });
    const press = await inbound(
      id,
      2,
      'resumed',
      { text: 'Approve', choice: 1 },
      { actor: { id: 'telegram:222' } },
    );
    // Same instant as the press: the edit follows it.
    const edit = await outbox(id, 2, {
      kind: 'answered',
      waitId: randomUUID(),
      promptMessageId: '7',
      text: 'Ship it?',
      answeredBy: 'Bob',
      answer: true,
    });
    const failed = await outbox(
      id,
      3,
      { kind: 'message', text: 'Shipping.' },
      'failed',
      'Forbidden: bot was blocked by the user',
    );
    const unread = await inbound(id, 4, 'inbox', { text: 'and v3?' });
    const read = await inbound(id, 5, 'collected', { text: 'please' }, { consumed: true });
    // Not the work's conversation: answered by the gateway itself, or data, not a message.
    await inbound(id, 5, 'resumed', { ref: 'deploy-1' });
    await inbound(id, 6, 'rejected', { text: 'hello?' });
    await inbound(id, 7, 'command', { text: '/status' });

    const conversation = await repo.conversation(id, 50);
    expect(conversation?.truncated).toBe(false);
    expect(conversation?.items.map((m) => [m.direction, m.id])).toEqual([
      ['inbound', opened],
      ['outbound', ask],
      ['inbound', press],
      ['outbound', edit],
      ['outbound', failed],
      ['inbound', unread],
      ['inbound', read],
    ]);
    const [first, prompt, pressed, answered, notSent, inboxed, collected] = conversation!.items;
    expect(first).toEqual({
      direction: 'inbound',
      id: opened,
      at: at(0),
      channel: 'telegram',
      from: 'Alice',
      actorId: 'telegram:111',
      text: 'deploy v2',
      decision: 'opened',
      read: true,
    });
    expect(prompt).toMatchObject({ kind: 'ask', text: 'Ship it?', choices: ['Reject', 'Approve'] });
    expect(pressed).toMatchObject({ from: 'telegram:222', text: 'Approve', decision: 'resumed' });
    expect(answered).toMatchObject({ kind: 'answered', answeredBy: 'Bob', answer: true });
    expect(notSent).toEqual({
      direction: 'outbound',
      id: failed,
      at: at(3),
      channel: 'telegram',
      target: 'bot:42',
      kind: 'message',
      text: 'Shipping.',
      choices: [],
      answeredBy: null,
      answer: null,
      status: 'failed',
      attempts: 1,
      sentAt: null,
      lastError: 'Forbidden: bot was blocked by the user',
    });
    expect(inboxed).toMatchObject({ decision: 'inbox', read: false });
    expect(collected).toMatchObject({ decision: 'collected', read: true });
  });

  it('keeps the newest messages when there are more than the limit', async () => {
    const id = await work();
    for (let s = 0; s < 6; s++) {
      if (s % 2 === 0) await inbound(id, s, 'resumed', { text: `q${s}` });
      else await outbox(id, s, { kind: 'message', text: `a${s}` });
    }
    const page = await repo.conversation(id, 3);
    expect(page?.truncated).toBe(true);
    expect(page?.items.map((m) => m.text)).toEqual(['a3', 'q4', 'a5']);
    expect((await repo.conversation(id, 6))?.truncated).toBe(false);
  });

  it('is empty for a work that never chatted, and null for no work', async () => {
    const started = await work();
    await inbound(started, 0, 'opened', { ref: 'from the API' });
    expect(await repo.conversation(started, 10)).toEqual({ items: [], truncated: false });
    expect(await repo.conversation(randomUUID(), 10)).toBeNull();
  });
});
