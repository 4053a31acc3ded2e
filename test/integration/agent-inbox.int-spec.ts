import { type OutboundDelivery, type OutboundSender } from '@app/core';
import { createAssistantWorkflow } from '@app/agent';
import { IngestService } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { testConfig } from '@test/gateway';
import { OpenAiApiServer } from '@test/openai-api';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

class RecordingSender implements OutboundSender {
  readonly channel = 'chat';
  readonly sent: OutboundDelivery[] = [];
  async send(delivery: OutboundDelivery) {
    this.sent.push(delivery);
    return { providerMessageId: `m${this.sent.length}` };
  }
}

/**
 * The assistant in a chat with no follow-up window (`followUpWindow: 0`): it answers
 * and completes without reading its inbox again. A message that arrived while the
 * model was thinking is not lost: it is routed again when the work ends, and opens a
 * new conversation (DESIGN.md, "Routing"). Real worker, ledger and loopback OpenAI.
 */
describe('assistant: a message sent while it answers is never stranded', () => {
  let db: TestSchema;
  let prefix: string;
  let openai: OpenAiApiServer;
  let worker: TestWorker;
  let ingest: IngestService;
  const sender = new RecordingSender();

  beforeAll(async () => {
    db = await createTestSchema('agentinbox');
    prefix = testQueuePrefix();
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '3s', reconcileEvery: '200ms' },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          followUpWindow: 0,
        },
      },
    });
    worker = await startWorker(
      config,
      [createAssistantWorkflow({ settings: config.agent! })],
      [sender],
    );
    ingest = worker.app.get(IngestService);
  });

  afterAll(async () => {
    await worker?.close();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('followUpWindow 0: the message that came in during the answer opens the next conversation', async () => {
    let release!: () => void;
    const thinking = new Promise<void>((r) => (release = r));
    openai.enqueue({ content: 'Paris.', gate: thinking }, { content: 'Lisbon.' });
    const message = (n: number, text: string) => ({
      channel: 'chat',
      source: 'bot',
      externalId: `agent:${n}`,
      conversationKey: 'chat:room',
      correlationKey: null,
      actor: { id: 'chat:ana', name: 'ana' },
      raw: { text },
      body: { text, messageId: `u${n}` },
      answer: text,
      reference: null,
      command: null,
      route: { openKind: 'assistant', busyPolicy: 'inbox' as const, collectWindowMs: 0 },
      replyAddress: { channel: 'chat', target: 'room' },
    });
    const first = await ingest.ingest(message(1, 'capital of France?'));
    expect(first.decision).toBe('opened');
    await until(() => openai.pending === 1, 'the model to be asked', 20_000);
    const late = await ingest.ingest(message(2, 'and of Portugal?'));
    expect(late).toMatchObject({ decision: 'inbox', workId: first.workId });
    release();

    const ledger = ledgerOf(db);
    await ledger.untilState(first.workId!, 'COMPLETED', 20_000);
    const [row] = await db.query<{ workId: string; decision: string; reason: string }>(
      'SELECT * FROM "InboundEvent" WHERE id = $1',
      [late.eventId],
    );
    const routed = await until(
      async () => {
        const [r] = await db.query<{ workId: string; decision: string; reason: string }>(
          'SELECT * FROM "InboundEvent" WHERE id = $1',
          [late.eventId],
        );
        return r && r.decision === 'opened' ? r : null;
      },
      `the late message routed again (was ${row?.decision})`,
      20_000,
    );
    expect(routed.reason).toMatch(/routed again/);
    const second = await ledger.untilState(routed.workId, 'COMPLETED', 20_000);
    expect(second.output).toMatchObject({ answer: 'Lisbon.' });
    // The answer is delivered by the outbox job after the completion commits: wait for it.
    const texts = await until(
      () =>
        sender.sent.length >= 2
          ? sender.sent.map((d) => (d.payload as { text?: string }).text)
          : null,
      `both answers delivered (saw ${sender.sent.length})`,
      20_000,
    );
    expect(texts).toEqual(['Paris.', 'Lisbon.']);
  });
});
