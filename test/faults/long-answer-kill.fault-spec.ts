import { type INestApplicationContext } from '@nestjs/common';
import { EngineControl } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { spawnWorker, workerStarted, writeWorkerConfig } from '@test/fault-harness';
import { testConfig } from '@test/gateway';
import { createLedgerContext } from '@test/ledger';
import { type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { TelegramApiServer } from '@test/telegram-api';
import { until } from '@test/until';

const TOKEN = '123456789:TEST_ONLY-long-answer-bot';
const CHAT = 111111111;

function longAnswer(): string {
  const para = (n: number) => `Paragraph ${n}: **done** ${'fine, '.repeat(150)}end.\n\n`;
  let text = '';
  for (let i = 1; i <= 12; i++) text += para(i);
  return `${text}\`\`\`sh\n${'echo ok\n'.repeat(100)}\`\`\`\nThe end.`;
}

/**
 * kill -9 while part 2 of a long answer is in flight: another worker delivers part 2
 * after the attempt deadline, and part 3 waits for it. Every part arrives once, in order.
 */
describe('a worker killed while sending a long answer in parts', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let ctx: INestApplicationContext;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestSchema('longkill');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'long_bot', first_name: 'Long Bot' })
      .start();
    ctx = await createLedgerContext(testConfig({ schema: db.schema, prefix }));
  });

  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await ctx?.close();
    await api?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('delivers every part once, in order, after the worker sending part 2 dies', async () => {
    const configPath = writeWorkerConfig({
      extra: [
        'outbound:',
        '  attemptDeadline: 2s',
        '  retryDelay: 100ms',
        'telegram:',
        `  apiRoot: ${api.url}`,
        '  bots:',
        '    main:',
        `      token: "${TOKEN}"`,
        '      mode: polling',
      ].join('\n'),
    });
    // The second sendMessage (part 2) never reaches "Telegram": worker a dies waiting.
    let sends = 0;
    let held = 0;
    api.hold = (method) => {
      if (method !== 'sendMessage' || ++sends !== 2) return false;
      held += 1;
      return true;
    };
    const a = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-a' });
    workers.push(a);
    await workerStarted(a);

    const control = ctx.get(EngineControl, { strict: false });
    const text = longAnswer();
    const { workId } = await control.start(
      'fault.long-answer',
      { to: { channel: 'telegram', target: `main:${CHAT}` }, text },
      { actor: 'test' },
    );
    await until(() => held === 1, 'part 2 to be in flight');
    a.child.kill('SIGKILL');
    await a.exited;

    const b = spawnWorker({ schema: db.schema, prefix, configPath, name: 'worker-b' });
    workers.push(b);
    const rows = await until(
      async () => {
        const all = await db.query<any>(
          `SELECT * FROM "Outbox" WHERE "workId" = $1 ORDER BY (payload->>'part')::int`,
          [workId],
        );
        return all.length >= 3 && all.every((r) => r.status === 'sent') ? all : null;
      },
      'every part sent by worker b',
      30_000,
    );
    const messages = api.botMessages(CHAT);
    expect(messages).toHaveLength(rows.length); // none twice, none missing
    expect(messages.map((m) => String(m.message_id))).toEqual(rows.map((r) => r.providerMessageId));
    expect(rows[1].attempts).toBe(2);
    const visible = messages.map((m) => m.text).join('\n');
    for (let i = 1; i <= 12; i++) expect(visible).toContain(`Paragraph ${i}:`);
    expect(visible.endsWith('The end.')).toBe(true);
  });
});
