import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createAssistantWorkflow } from '@app/agent';
import { createTelegramSender } from '@app/channels/telegram';
import { shortWorkId } from '@app/core';
import { ApiTokenRepository } from '@app/ledger';
import { outboundSenders } from '../../apps/worker/src/worker.module';
import {
  type DashboardBrowser,
  describeInBrowser,
  launchDashboardBrowser,
  textOf,
} from '@test/dashboard-browser';
import { createTestSchema, type TestSchema } from '@test/db';
import { ledgerOf } from '@test/engine-ledger';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { post } from '@test/http';
import { OpenAiApiServer } from '@test/openai-api';
import { REPO_ROOT } from '@test/paths';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { ALICE, TelegramApiServer, telegramWebhookHeaders } from '@test/telegram-api';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const TOKEN = '100000021:TEST_ONLY-dash-chat';
const SECRET = 'wg_TEST_ONLY-dash-chat-secret';
const CHAT = 700_000_321;

/**
 * An assistant work's conversation on its dashboard page: a chat driven through the real
 * gateway (Telegram webhook deliveries), the real worker, Telegraf against the loopback
 * Bot API and the openai SDK against the loopback OpenAI server. The transcript beside
 * the steps shows who said what, in order, each sent message's delivery, a question's
 * buttons and who pressed one, and a reply Telegram refused.
 */
describeInBrowser('dashboard: a chat work as a transcript', () => {
  let db: TestSchema;
  let prefix: string;
  let api: TelegramApiServer;
  let openai: OpenAiApiServer;
  let gw: TestGateway;
  let worker: TestWorker;
  let browser: DashboardBrowser;
  let operator: string;

  async function deliver(update: Record<string, any>) {
    const res = await post(
      `${gw.url}/telegram/dash`,
      JSON.stringify(update),
      telegramWebhookHeaders(SECRET),
    );
    expect(res.status).toBe(200);
    return res.json.result as { decision: string; workId: string | null };
  }

  const say = (text: string) =>
    deliver(
      api.userMessage(TOKEN, {
        from: ALICE,
        chat: { id: CHAT, first_name: ALICE.first_name, type: 'private' },
        text,
      }),
    );

  const botMessage = (n: number, what: string) =>
    until(() => api.botMessages(CHAT)[n - 1], what, 20_000);

  beforeAll(async () => {
    db = await createTestSchema('dashboard_chat');
    prefix = testQueuePrefix();
    api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 'dash_bot', first_name: 'dash bot' });
    openai = await new OpenAiApiServer().start();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: {
        worker: { lease: '5s', reconcileEvery: '300ms', concurrency: 4 },
        outbound: { retryDelay: '200ms' },
        chat: { buttonSecrets: ['e2e-dashboard-chat-secret-0001'] },
        telegram: {
          apiRoot: api.url,
          limits: { perChatPerSecond: 1_000, perBotPerSecond: 1_000, perGroupPerMinute: 60_000 },
          bots: { dash: { token: TOKEN, secretToken: SECRET, workflow: 'assistant' } },
        },
        agent: {
          baseURL: openai.baseURL,
          apiKey: 'sk-test-only',
          model: 'gpt-test',
          system: 'You are the test assistant.',
          // Long: the work stays in the chat, waiting for a follow-up, while we look.
          followUpWindow: '10m',
        },
      },
    });
    gw = await startGateway(config);
    const wired = outboundSenders(config).some((s) => s.channel === 'telegram');
    worker = await startWorker(
      config,
      [createAssistantWorkflow({ settings: config.agent! })],
      wired ? [] : [createTelegramSender(config)],
    );
    operator = (await gw.app.get(ApiTokenRepository).create('ana', 'operator')).token;
    browser = await launchDashboardBrowser(gw.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await gw?.close();
    await api?.stop();
    await openai?.stop();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('shows the conversation beside the steps: who said what, in order, and what was delivered', async () => {
    openai.enqueue(
      {
        toolCalls: [
          { name: 'ask_human', arguments: { question: 'Which branch?', choices: ['main', 'dev'] } },
        ],
      },
      { content: 'The build on main is green.' },
      { content: 'You are welcome.' },
    );
    const opened = await say('is the build green?');
    expect(opened.decision).toBe('opened');
    const workId = opened.workId!;

    const question = await botMessage(1, 'the ask_human question');
    const main = question
      .reply_markup!.inline_keyboard.flat()
      .find((b: { text: string }) => b.text === 'main');
    expect(
      await deliver(
        api.buttonPress(TOKEN, {
          chatId: CHAT,
          messageId: question.message_id,
          data: main.callback_data,
          from: ALICE,
        }),
      ),
    ).toMatchObject({ decision: 'resumed', workId });
    expect((await botMessage(2, 'the answer')).text).toBe('The build on main is green.');

    // The follow-up resumes the same work; Telegram refuses its reply (the user blocked
    // the bot), a refusal that will not change on a retry: the message is failed.
    api.failNext(
      { kind: 'error', code: 403, description: 'Forbidden: bot was blocked by the user' },
      1,
      'sendMessage',
    );
    expect(await say('thanks')).toMatchObject({ decision: 'resumed', workId });
    await until(
      async () =>
        (
          await db.query<{ status: string }>(
            `SELECT status FROM "Outbox" WHERE "workId" = $1 AND payload->>'text' = 'You are welcome.'`,
            [workId],
          )
        )[0]?.status === 'failed',
      'the refused reply to be failed',
      20_000,
    );
    await ledgerOf(db).untilState(workId, 'WAITING');

    const { page, errors } = await browser.openPage();
    await browser.signIn(page, operator);
    // The list shows the work by its short id.
    const link = page.locator(`tr[data-work-id="${workId}"] a.short-id`);
    expect(await link.textContent()).toBe(shortWorkId(workId));
    await link.click();

    const chat = page.locator('#work-conversation');
    await until(
      async () => (await chat.locator('[data-direction]').count()) === 7,
      'the transcript to show seven entries',
    );
    const entries = await chat
      .locator('[data-direction]')
      .evaluateAll((els: any[]) =>
        els.map((el) => [
          el.dataset.direction,
          el.dataset.kind ?? el.dataset.decision,
          el.dataset.status ?? '',
          el.querySelector('.bubble-text')?.textContent ?? el.textContent.trim(),
        ]),
      );
    expect(entries).toEqual([
      ['inbound', 'opened', '', 'is the build green?'],
      ['outbound', 'ask', 'sent', 'Which branch?'],
      ['inbound', 'resumed', '', 'main'],
      ['outbound', 'answered', 'sent', expect.stringContaining('Alice Example answered: main')],
      ['outbound', 'message', 'sent', 'The build on main is green.'],
      ['inbound', 'resumed', '', 'thanks'],
      ['outbound', 'message', 'failed', 'You are welcome.'],
    ]);
    // Who said it, the question's buttons, and each message's delivery.
    expect(await textOf(page, '#work-conversation .bubble.inbound .who')).toBe('Alice Example');
    expect(await chat.locator('.bubble[data-kind="ask"] .choice-chip').allTextContents()).toEqual([
      'main',
      'dev',
    ]);
    expect(await textOf(page, '#work-conversation .bubble[data-kind="ask"] .delivery')).toBe(
      '✓ delivered',
    );
    expect(await textOf(page, '#work-conversation .bubble[data-status="failed"] .delivery')).toBe(
      '✗ not delivered: sendMessage: 403 Forbidden: bot was blocked by the user',
    );

    // Beside the steps, not below them (the page is 1400 px wide).
    const steps = await page.locator('#steps-section').boundingBox();
    const transcript = await page.locator('#conversation-section').boundingBox();
    expect(transcript!.x).toBeGreaterThan(steps!.x + steps!.width - 1);
    expect(Math.abs(transcript!.y - steps!.y)).toBeLessThan(50);
    expect(await textOf(page, '#work-steps')).toContain('llm');

    mkdirSync(join(REPO_ROOT, 'test', 'artifacts'), { recursive: true });
    await page.screenshot({
      path: join(REPO_ROOT, 'test', 'artifacts', 'dashboard-chat.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
