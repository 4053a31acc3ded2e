import { type TelegramSender, createTelegramSender } from '@app/channels/telegram';
import { defineWorkflow } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer } from '@test/slack-api';
import { TelegramApiServer } from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const TOKEN = '123456789:TEST_ONLY-chat-format-bot';
const CHAT = 111111111;

/** A model's long answer: prose with Markdown, a long code block, more prose (> 9,000 chars). */
function longAnswer(): string {
  const para = (n: number) =>
    `Paragraph ${n}: the **deploy** of \`api\` & <web> went ${'fine, '.repeat(120)}done.\n\n`;
  const code = Array.from({ length: 150 }, (_, i) => `  step(${i}); // a < b && c > d`).join('\n');
  let text = '# Report\n\n';
  for (let i = 1; i <= 6; i++) text += para(i);
  text += `\`\`\`ts\n${code}\n\`\`\`\n\n`;
  for (let i = 7; i <= 9; i++) text += para(i);
  return `${text}The end.`;
}

const answer = defineWorkflow(
  'chatfmt.answer',
  async (ctx, input: { to: { channel: string; target: string }; text: string }) => {
    await ctx.send(input.to, { text: input.text });
    return { ok: true };
  },
);

describe('long Markdown answers through the real worker (loopback Telegram and Slack)', () => {
  let db: TestSchema;
  let prefix: string;
  let telegram: TelegramApiServer;
  let slack: SlackApiServer;
  let worker: TestWorker;
  const text = longAnswer();

  beforeAll(async () => {
    db = await createTestSchema('chatfmt');
    prefix = testQueuePrefix();
    telegram = await new TelegramApiServer()
      .addBot(TOKEN, { username: 'chatfmt_bot', first_name: 'Chat Format Bot' })
      .start();
    slack = await new SlackApiServer().start();
    slack.tokens.set('xoxb-acme', { teamId: 'T0FAKE01', team: 'Workgate Fake' });
    worker = await startWorker(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          worker: { reconcileEvery: '300ms' },
          outbound: { retryDelay: '100ms', maxRetryDelay: '300ms', maxAttempts: 5 },
          telegram: {
            apiRoot: telegram.url,
            limits: { perChatPerSecond: 30 },
            bots: { main: { token: TOKEN, mode: 'polling' } },
          },
          slack: {
            apiUrl: slack.url,
            workspaces: {
              acme: { teamId: 'T0FAKE01', botToken: 'xoxb-acme', signingSecret: 'x'.repeat(32) },
            },
          },
        },
      }),
      [answer],
    );
  });

  afterAll(async () => {
    await worker?.close();
    await telegram?.stop();
    await slack?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  const outboxOf = (workId: string) =>
    db.query<any>('SELECT * FROM "Outbox" WHERE "workId" = $1 ORDER BY (payload->>\'part\')::int', [
      workId,
    ]);
  const allSent = (workId: string) =>
    until(async () => {
      const rows = await outboxOf(workId);
      if (rows.length > 1 && rows.every((r) => r.status === 'sent')) return rows;
      throw new Error(JSON.stringify(rows.map((r) => [r.status, r.attempts, r.lastError])));
    }, 'every part sent');

  it('Telegram: a 9,000-character answer arrives whole, as 3+ HTML messages in order, even when a part is retried', async () => {
    expect(text.length).toBeGreaterThan(9000);
    // The second message Telegram sees fails once: its retry must not let part 3 overtake it.
    telegram.failNext({ kind: 'error', code: 502, description: 'Bad Gateway' }, 1);
    const { workId } = await worker.control.start(
      'chatfmt.answer',
      { to: { channel: 'telegram', target: `main:${CHAT}` }, text },
      { actor: 'test' },
    );
    const rows = await allSent(workId!);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rows.map((r) => r.idempotencyKey)).size).toBe(rows.length);
    expect(rows.some((r) => r.attempts === 2)).toBe(true);

    const messages = telegram.botMessages(CHAT);
    expect(messages).toHaveLength(rows.length);
    // Message ids are given in send order: part n was sent before part n + 1.
    expect(messages.map((m) => String(m.message_id))).toEqual(rows.map((r) => r.providerMessageId));
    for (const m of messages) expect(m.text!.length).toBeLessThanOrEqual(4096);
    const html = messages.map((m) => m.html as string);
    expect(html[0]).toMatch(
      /^<b>Report<\/b>\n\nParagraph 1: the <b>deploy<\/b> of <code>api<\/code> &amp; &lt;web&gt;/,
    );
    const code = html.filter((h) => h.includes('<pre><code class="language-ts">'));
    expect(code.length).toBeGreaterThanOrEqual(1);
    expect(html.join('')).toContain('step(149); // a &lt; b &amp;&amp; c &gt; d');
    // Nothing lost: every paragraph and every code line reached the chat.
    const visible = messages.map((m) => m.text).join('\n');
    for (let i = 1; i <= 9; i++) expect(visible).toContain(`Paragraph ${i}:`);
    for (let i = 0; i < 150; i++) expect(visible).toContain(`step(${i});`);
    expect(visible.endsWith('The end.')).toBe(true);
  });

  it('Slack: the same answer as mrkdwn messages in order, none over 3,500 characters', async () => {
    const { workId } = await worker.control.start(
      'chatfmt.answer',
      { to: { channel: 'slack', target: 'acme:C0FAKE01' }, text },
      { actor: 'test' },
    );
    const rows = await allSent(workId!);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const posts = slack.on('chat.postMessage').filter((c) => c.status === 200);
    expect(posts.map((c) => c.response.ts)).toEqual(rows.map((r) => r.providerMessageId));
    const texts = posts.map((c) => String(c.args.text));
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(3500);
    expect(texts[0]).toMatch(
      /^\*Report\*\n\nParagraph 1: the \*deploy\* of `api` &amp; &lt;web&gt;/,
    );
    for (const t of texts) expect((t.match(/```/g) ?? []).length % 2).toBe(0);
    const all = texts.join('\n');
    for (let i = 0; i < 150; i++) expect(all).toContain(`step(${i});`);
    expect(all.endsWith('The end.')).toBe(true);
  });

  it('Telegram refuses HTML it cannot parse; the sender then sends the message as plain text', async () => {
    const sender = createTelegramSender(
      testConfig({
        schema: 'unused',
        prefix: 'unused',
        overrides: {
          telegram: { apiRoot: telegram.url, bots: { main: { token: TOKEN, mode: 'polling' } } },
        },
      }),
    ) as TelegramSender;
    // The loopback answers as Telegram does for unbalanced tags.
    await expect(
      sender.call('main', 'sendMessage', { chat_id: CHAT, text: '<b>open', parse_mode: 'HTML' }),
    ).rejects.toThrow(/400 Bad Request: can't parse entities/);

    telegram.failNext(
      {
        kind: 'error',
        code: 400,
        description:
          'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
      },
      1,
      'sendMessage',
    );
    const result = await sender.send({
      outboxId: 'o-fallback',
      workId: null,
      target: `main:${CHAT}`,
      payload: { kind: 'message', text: 'a **bold** claim' },
      idempotencyKey: 'k-fallback',
      attempt: 1,
    });
    const [refused, plain] = telegram.on('sendMessage').slice(-2);
    expect(refused!.args).toMatchObject({ text: 'a <b>bold</b> claim', parse_mode: 'HTML' });
    expect(plain!.args).toEqual({ chat_id: CHAT, text: 'a **bold** claim' });
    expect(result.providerMessageId).toBe(String(plain!.response.result.message_id));
  });
});
