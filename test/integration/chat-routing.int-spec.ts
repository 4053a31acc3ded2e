import { type OutboundDelivery, type OutboundSender, type InboundEventInput } from '@app/core';
import { defineWorkflow } from '@app/engine';
import { IngestService } from '@app/ledger';
import { chatApprovalWorkflow } from '../../apps/worker/src/workflows/chat-approval.workflow';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

/**
 * The conversational routing rules through the real ingest service, worker, outbox
 * and ledger, with a channel of the test's own (`chat`) whose sender records what the
 * gateway and the workflows said. Telegram and Slack run the same rules through their
 * SDKs in their own e2e tests.
 */
class RecordingSender implements OutboundSender {
  readonly channel = 'chat';
  readonly sent: Array<OutboundDelivery & { messageId: string }> = [];
  private n = 0;
  async send(delivery: OutboundDelivery) {
    const messageId = `m${++this.n}`;
    this.sent.push({ ...delivery, messageId });
    return { providerMessageId: messageId };
  }
  of<K extends string>(kind: K) {
    return this.sent.filter((d) => d.payload.kind === kind);
  }
}

const countTo = defineWorkflow('chat.count', async (ctx) => {
  const n = await ctx.ask<string>({
    text: 'How many?',
    expects: { type: 'string', pattern: '^[0-9]+$' },
  });
  return { n: Number(n) };
});

const turns = defineWorkflow('chat.turns', async (ctx, input: { turns: number }) => {
  const said: string[] = [];
  for (let i = 0; i < input.turns; i++)
    said.push(await ctx.ask<string>({ text: `turn ${i}`, expects: { type: 'string' } }));
  return { said };
});

/** Test-controlled gate for a step that must stay busy while messages arrive. */
const gate = { open: false };

const collector = defineWorkflow('chat.collector', async (ctx) => {
  await ctx.step('busy', async ({ signal }) => {
    while (!gate.open && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
  });
  // Polls its inbox with durable sleeps until the burst has been handed over.
  for (;;) {
    const items = await ctx.inbox();
    if (items.length) return { items };
    await ctx.sleep('100ms');
  }
});

/** Waits for a webhook-style event on its correlation key; the wait times out (fail). */
const hooked = defineWorkflow('chat.hooked', async (ctx, input: { key: string }) =>
  ctx.waitFor({ match: input.key, timeout: '200ms' }),
);

const interruptible = defineWorkflow('chat.interruptible', async (ctx, input: { text: string }) => {
  const items = await ctx.inbox();
  const latest = (items.at(-1)?.body as { text?: string } | undefined)?.text ?? input.text;
  const answer = await ctx.step('think', async ({ signal }) => {
    // The first run thinks until it is interrupted; a run that has news answers at once.
    while (!items.length && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
    if (signal.aborted) throw new Error('cut short');
    return `thought about: ${latest}`;
  });
  return { answer, runs: items.length };
});

describe('chat routing (ingest + worker + outbox, a recording channel)', () => {
  let db: TestSchema;
  let prefix: string;
  let worker: TestWorker;
  let ingest: IngestService;
  const sender = new RecordingSender();
  let seq = 0;

  beforeAll(async () => {
    db = await createTestSchema('chatroute');
    prefix = testQueuePrefix();
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { lease: '900ms', reconcileEvery: '300ms' },
          chat: {
            buttonSecrets: ['a-test-secret-of-enough-length'],
            identities: { ana: ['chat:ana', 'other:ana'] },
            // The 50-turn conversation below is a script, not a person: no rate limit.
            rateLimit: { messages: 0 },
          },
        },
      }),
      [chatApprovalWorkflow, countTo, turns, collector, interruptible, hooked],
      [sender],
    );
    ingest = worker.app.get(IngestService);
  });

  afterAll(async () => {
    await worker?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const ledger = () => ledgerOf(db);
  const room = (name: string) => ({ channel: 'chat', target: name });

  /** A chat message as a channel adapter would normalize it. */
  function message(
    roomName: string,
    text: string,
    opts: Omit<Partial<InboundEventInput>, 'actor'> & { kind?: string; actor?: string } = {},
  ): InboundEventInput {
    const n = ++seq;
    const { kind, actor: who, ...rest } = opts;
    const actor = who ?? 'chat:ana';
    return {
      channel: 'chat',
      source: 'bot',
      externalId: `bot:${n}`,
      conversationKey: `chat:${roomName}`,
      correlationKey: null,
      actor: { id: actor, name: actor.split(':')[1] },
      raw: { text },
      body: { text, messageId: `u${n}` },
      answer: text,
      reference: null,
      command: null,
      route: { openKind: kind ?? 'chat.count', busyPolicy: 'inbox', collectWindowMs: 0 },
      replyAddress: room(roomName),
      ...rest,
    };
  }

  const promptFor = (workId: string) =>
    until(
      () =>
        sender
          .of('ask')
          .filter((d) => d.workId === workId)
          .at(-1),
      `the prompt of work ${workId}`,
    );

  it('buttons: a stranger is refused, a linked identity on another channel approves, the prompt is edited', async () => {
    // The approvers ride in the input here; a real workflow names its responders in code.
    const opened = await ingest.ingest(
      message('r1', 'deploy v2', {
        kind: 'chat-approval',
        body: { text: 'deploy v2', messageId: 'u0', approvers: ['ana'], settle: '10ms' },
      }),
    );
    expect(opened.decision).toBe('opened');
    const workId = opened.workId!;
    const prompt = await promptFor(workId);
    const waitId = (prompt.payload as { waitId: string }).waitId;
    expect(prompt.payload).toMatchObject({
      text: 'Approve “deploy v2”?',
      expects: { type: 'boolean' },
    });

    const stranger = await ingest.ingest(
      message('r1', '', { actor: 'chat:bob', button: { kind: 'answer', waitId, choice: 1 } }),
    );
    expect(stranger).toMatchObject({
      decision: 'rejected',
      feedback: 'Sorry, only ana can answer this.',
    });
    // The presser sees the refusal on the button itself (the channel shows `feedback`).
    expect((await ledger().waits(workId))[0]!.status).toBe('open');

    // Ana, on another channel, linked by chat.identities.
    const approve = await ingest.ingest(
      message('r1', '', { actor: 'other:ana', button: { kind: 'answer', waitId, choice: 1 } }),
    );
    expect(approve).toMatchObject({
      decision: 'resumed',
      workId,
      waitId,
      feedback: 'Thanks, answered.',
    });
    const edit = await until(
      () => sender.of('answered').find((d) => d.workId === workId),
      'the answered edit',
    );
    expect(edit.payload).toMatchObject({
      promptMessageId: prompt.messageId,
      answeredBy: 'ana',
      answer: true,
    });
    await until(
      async () => (await ledger().work(workId)).state === 'COMPLETED',
      'the work completes',
    );
    expect((await ledger().work(workId)).output).toEqual({ summary: 'deploy v2', approved: true });

    // A second press of the answered button changes nothing.
    const again = await ingest.ingest(
      message('r1', '', { actor: 'chat:ana', button: { kind: 'answer', waitId, choice: 0 } }),
    );
    expect(again.decision).toBe('dropped');
  });

  it('an answer that fails validation re-prompts without consuming the wait; a valid one resumes', async () => {
    const { workId } = await ingest.ingest(message('r2', 'start'));
    await promptFor(workId!);
    const bad = await ingest.ingest(message('r2', 'many'));
    expect(bad).toMatchObject({ decision: 'rejected', workId });
    const reprompt = await until(
      () =>
        sender
          .of('ask')
          .find((d) => d.workId === workId && /doesn't fit/.test((d.payload as any).text)),
      'the re-prompt',
    );
    expect((reprompt.payload as any).text).toMatch(/How many\?$/);
    expect((await ledger().waits(workId!))[0]!.status).toBe('open');
    const good = await ingest.ingest(message('r2', '3'));
    expect(good).toMatchObject({ decision: 'resumed', workId });
    await until(async () => (await ledger().work(workId!)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(workId!)).output).toEqual({ n: 3 });
  });

  it('two works waiting: a plain message asks which one; a pick or a reply to a prompt decides', async () => {
    const first = (await ingest.ingest(message('r3', 'one'))).workId!;
    const second = (await ingest.ingest(message('r3', 'two', { command: 'new' }))).workId!;
    const firstPrompt = await promptFor(first);
    await promptFor(second);

    const unsure = await ingest.ingest(message('r3', '5'));
    expect(unsure.decision).toBe('asked');
    const question = await until(
      () => sender.of('notice').find((d) => /Which one/.test((d.payload as any).text)),
      'the which-one question',
    );
    expect((question.payload as any).buttons).toHaveLength(2);

    const pick = await ingest.ingest(
      message('r3', '', { button: { kind: 'pick', workId: second, choice: 1 } }),
    );
    expect(pick).toMatchObject({ decision: 'resumed', workId: second });
    await until(
      async () => (await ledger().work(second)).state === 'COMPLETED',
      'second completes',
    );
    expect((await ledger().work(second)).output).toEqual({ n: 5 });

    const reply = await ingest.ingest(
      message('r3', '7', { replyTo: { target: 'r3', providerMessageId: firstPrompt.messageId } }),
    );
    expect(reply).toMatchObject({ decision: 'resumed', workId: first });
    await until(async () => (await ledger().work(first)).state === 'COMPLETED', 'first completes');
  });

  it('/status and /cancel are answered by the gateway', async () => {
    const { workId } = await ingest.ingest(message('r4', 'go'));
    await promptFor(workId!);
    const status = await ingest.ingest(message('r4', '/status', { command: 'status' }));
    expect(status.decision).toBe('command');
    const listed = await until(
      () =>
        sender
          .of('notice')
          .find((d) => d.target === 'r4' && /chat\.count/.test((d.payload as any).text)),
      'the status answer',
    );
    expect((listed.payload as any).text).toContain(workId!.slice(-6));
    const cancel = await ingest.ingest(message('r4', '/cancel', { command: 'cancel' }));
    expect(cancel).toMatchObject({ decision: 'command', workId });
    await until(async () => (await ledger().work(workId!)).state === 'CANCELLED', 'cancelled');
    const nothing = await ingest.ingest(message('r4', '/cancel', { command: 'cancel' }));
    expect(nothing.reason).toMatch(/0 live works/);
  });

  it('a 50-turn conversation resumes the same work every time', async () => {
    const { workId } = await ingest.ingest(
      message('r5', 'hi', { kind: 'chat.turns', body: { text: 'hi', turns: 50 } }),
    );
    for (let i = 0; i < 50; i++) {
      await until(
        () =>
          sender
            .of('ask')
            .find((d) => d.workId === workId && (d.payload as any).text === `turn ${i}`),
        `turn ${i}'s prompt`,
      );
      const r = await ingest.ingest(message('r5', `answer ${i}`));
      expect(r).toMatchObject({ decision: 'resumed', workId });
    }
    await until(async () => (await ledger().work(workId!)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(workId!)).output.said).toEqual(
      Array.from({ length: 50 }, (_, i) => `answer ${i}`),
    );
    const opened = await db.query<any>(
      `SELECT count(*)::int AS n FROM "Work" WHERE "conversationKey" = 'chat:r5'`,
    );
    expect(opened[0].n).toBe(1);
  });

  it('collect: a burst of messages to a busy work reaches it as one event, after its window', async () => {
    const route = {
      openKind: 'chat.collector',
      busyPolicy: 'collect' as const,
      collectWindowMs: 300,
    };
    gate.open = false;
    const { workId } = await ingest.ingest(message('r6', 'start', { route }));
    await until(
      async () => (await ledger().steps(workId!)).some((st) => st.name === 'busy'),
      'the busy step to start',
    );
    for (const text of ['first', 'second', 'third']) {
      const r = await ingest.ingest(message('r6', text, { route }));
      expect(r).toMatchObject({ decision: 'collected', workId });
    }
    gate.open = true;
    await until(async () => (await ledger().work(workId!)).state === 'COMPLETED', 'completes');
    const { items } = (await ledger().work(workId!)).output;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ decision: 'collected', answer: 'first\nsecond\nthird' });
    expect(items[0].eventIds).toHaveLength(3);
  });

  it('interrupt: a message to a busy work cuts its step short and it starts again with it', async () => {
    const route = {
      openKind: 'chat.interruptible',
      busyPolicy: 'interrupt' as const,
      collectWindowMs: 0,
    };
    const { workId } = await ingest.ingest(message('r7', 'plan a trip', { route }));
    await until(
      async () => (await ledger().steps(workId!)).some((st) => st.name === 'think'),
      'the think step to start',
    );
    const news = await ingest.ingest(message('r7', 'make it Lisbon', { route }));
    expect(news).toMatchObject({ decision: 'interrupted', workId });
    await until(async () => (await ledger().work(workId!)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(workId!)).output).toEqual({
      answer: 'thought about: make it Lisbon',
      runs: 1,
    });
    const interrupted = (await ledger().timeline(workId!)).filter((e) => e.type === 'interrupted');
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.data).toMatchObject({ fromSeq: 1, discarded: ['$inbox', 'think'] });
  });
  it('a pick is single-use: a double tap routes the message once', async () => {
    const first = (await ingest.ingest(message('r8', 'one'))).workId!;
    const second = (await ingest.ingest(message('r8', 'two', { command: 'new' }))).workId!;
    await promptFor(first);
    await promptFor(second);
    expect((await ingest.ingest(message('r8', '5'))).decision).toBe('asked');
    const tap = () =>
      ingest.ingest(message('r8', '', { button: { kind: 'pick', workId: second, choice: 1 } }));
    expect(await tap()).toMatchObject({ decision: 'resumed', workId: second });
    const again = await tap();
    expect(again.decision).toBe('dropped');
    expect(again.feedback).toMatch(/already answered/);
    await until(async () => (await ledger().work(second)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(second)).output).toEqual({ n: 5 });
    expect((await ledger().work(first)).state).toBe('WAITING');
    const works = await db.query<any>(
      `SELECT count(*)::int AS n FROM "Work" WHERE "conversationKey" = 'chat:r8'`,
    );
    expect(works[0].n).toBe(2);
  });

  it('a pick is bound to its question: an old button never routes a newer message to a work it did not offer', async () => {
    const a = (
      await ingest.ingest(
        message('r9', 'a', { kind: 'chat.turns', body: { text: 'a', messageId: 'ua', turns: 3 } }),
      )
    ).workId!;
    const b = (await ingest.ingest(message('r9', 'b', { command: 'new' }))).workId!;
    await promptFor(a);
    await promptFor(b);
    // '5' fits both the text question (a) and the digits question (b).
    expect((await ingest.ingest(message('r9', '5'))).decision).toBe('asked');
    expect(
      await ingest.ingest(message('r9', '', { button: { kind: 'pick', workId: a, choice: 0 } })),
    ).toMatchObject({ decision: 'resumed', workId: a });
    const c = (
      await ingest.ingest(
        message('r9', 'c', {
          kind: 'chat.turns',
          command: 'new',
          body: { text: 'c', messageId: 'uc', turns: 3 },
        }),
      )
    ).workId!;
    await until(
      () => sender.of('ask').find((d) => d.workId === a && (d.payload as any).text === 'turn 1'),
      "a's next turn",
    );
    await promptFor(c);
    // 'hello' fits the two text questions (a, c), not b's digits.
    expect((await ingest.ingest(message('r9', 'hello'))).decision).toBe('asked');
    const old = await ingest.ingest(
      message('r9', '', { button: { kind: 'pick', workId: b, choice: 1 } }),
    );
    expect(old.decision).toBe('dropped');
    expect(old.workId).not.toBe(b);
    const bTimeline = await ledger().timeline(b);
    expect(bTimeline.filter((e) => e.type === 'event_received')).toHaveLength(0);
    expect((await ledger().waits(b))[0]!.status).toBe('open');
    // The newer question still takes its own pick.
    expect(
      await ingest.ingest(message('r9', '', { button: { kind: 'pick', workId: c, choice: 1 } })),
    ).toMatchObject({ decision: 'resumed', workId: c });
  });

  it('/cancel: only the starter or a responder may cancel; anyone else is refused politely', async () => {
    const { workId } = await ingest.ingest(message('r10', 'go'));
    await promptFor(workId!);
    const refused = await ingest.ingest(
      message('r10', '/cancel', { command: 'cancel', actor: 'chat:bob' }),
    );
    expect(refused.decision).toBe('command');
    expect(refused.reason).toMatch(/refused/);
    expect((await ledger().work(workId!)).state).toBe('WAITING');
    await until(
      () =>
        sender
          .of('notice')
          .find((d) => d.target === 'r10' && /can cancel/.test((d.payload as any).text)),
      'the refusal',
    );
    // Ana started it; her linked identity on another channel may cancel it.
    const cancel = await ingest.ingest(
      message('r10', '/cancel', { command: 'cancel', actor: 'other:ana' }),
    );
    expect(cancel).toMatchObject({ decision: 'command', workId });
    await until(async () => (await ledger().work(workId!)).state === 'CANCELLED', 'cancelled');
  });

  it('a reply to a wait that already timed out says so, and is not kept for a later wait', async () => {
    const { workId } = await ingest.ingest(
      message('r11', 'hook', {
        kind: 'chat.hooked',
        body: { text: 'hook', messageId: 'uh', key: 'order-77' },
      }),
    );
    await until(async () => (await ledger().work(workId!)).state === 'FAILED', 'times out');
    const late = await ingest.ingest(
      message('r11', 'paid', {
        conversationKey: null,
        correlationKey: 'order-77',
        route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
        replyAddress: null,
      }),
    );
    expect(late.reason).not.toMatch(/kept until a wait names it/);
    expect(late.reason).toMatch(/timed out/);
    expect(late.reason).toContain(workId!);
    expect(late.decision).toBe('dropped');
  });
  it('a pick of a work that ended since the question leaves the question open for another pick', async () => {
    const first = (await ingest.ingest(message('r12', 'one'))).workId!;
    const second = (await ingest.ingest(message('r12', 'two', { command: 'new' }))).workId!;
    await promptFor(first);
    await promptFor(second);
    expect((await ingest.ingest(message('r12', '8'))).decision).toBe('asked');
    await worker.control.cancel(first, 'operator:ana');
    const gone = await ingest.ingest(
      message('r12', '', { button: { kind: 'pick', workId: first, choice: 0 } }),
    );
    expect(gone.decision).toBe('dropped');
    expect(gone.feedback).toMatch(/already finished/);
    expect(
      await ingest.ingest(
        message('r12', '', { button: { kind: 'pick', workId: second, choice: 1 } }),
      ),
    ).toMatchObject({ decision: 'resumed', workId: second });
    await until(async () => (await ledger().work(second)).state === 'COMPLETED', 'completes');
    expect((await ledger().work(second)).output).toEqual({ n: 8 });
  });
});
