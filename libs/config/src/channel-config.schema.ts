import { z } from 'zod';
import { BUSY_POLICIES, LIVENESS_MODES, parsePointer } from '@app/core';
import { byteSize, durationMs } from './config-primitives';

export const WEBHOOK_SCHEMES = ['standard-webhooks', 'github', 'stripe', 'none'] as const;
export type WebhookScheme = (typeof WEBHOOK_SCHEMES)[number];

/** Where a value is read from in a delivery: a request header, or a JSON pointer into the body. */
export const valueLocator = z.union([
  z.strictObject({
    header: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase()),
  }),
  z.strictObject({
    pointer: z.string().superRefine((pointer, ctx) => {
      try {
        parsePointer(pointer);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  }),
]);
export type ValueLocator = z.infer<typeof valueLocator>;

export const webhookSource = z
  .strictObject({
    scheme: z.enum(WEBHOOK_SCHEMES).describe('How deliveries are signed (see the Webhooks guide).'),
    // Several secrets are accepted at once so a secret can be rotated without downtime.
    secrets: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'One or more; any of them verifies (rotate by adding the new one first). Required unless `scheme: none`.',
      ),
    allowUnsigned: z
      .boolean()
      .default(false)
      .describe('Must be `true` for `scheme: none` (local experiments only: anyone can post).'),
    idempotency: valueLocator
      .optional()
      .describe(
        "Where the delivery's idempotency key is. Default: the scheme's own id (`webhook-id`, `X-GitHub-Delivery`, the Stripe event's `id`); required for `scheme: none`.",
      ),
    correlation: valueLocator
      .optional()
      .describe(
        'The key a waiting work matches: `ctx.waitFor({ match })` names it as `<source>:<value>`. None by default.',
      ),
    workflow: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The workflow kind to open when the event resumes nothing; absent: the event is kept for the wait that will name its key, or dropped.',
      ),
    bodyLimit: byteSize
      .default(1024 * 1024)
      .describe('Larger bodies are refused while streaming (413).'),
    toleranceSeconds: z
      .number()
      .int()
      .positive()
      .default(300)
      .describe('Timestamp window in seconds, both directions.'),
    busyPolicy: z
      .enum(BUSY_POLICIES)
      .default('inbox')
      .describe('What happens when the correlated work is busy (see the Conversations guide).'),
  })
  .superRefine((src, ctx) => {
    if (src.scheme === 'none' && !src.allowUnsigned) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowUnsigned'],
        message:
          'scheme "none" accepts unsigned posts; set allowUnsigned: true to confirm (local use only)',
      });
    }
    if (src.scheme !== 'none' && src.secrets.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['secrets'],
        message: `scheme "${src.scheme}" needs at least one secret`,
      });
    }
    if (src.scheme === 'none' && !src.idempotency) {
      ctx.addIssue({
        code: 'custom',
        path: ['idempotency'],
        message:
          'scheme "none" has no id header of its own; say where the idempotency key is ({ header } or { pointer })',
      });
    }
  });
export type WebhookSourceConfig = z.infer<typeof webhookSource>;

export const CHAT_FORMATS = ['markdown', 'plain'] as const;

/** A bot's `description`: what `asked` (its help command) answers with first. */
const botDescription = (asked: string) =>
  z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe(
      `What the bot does, in a sentence or two: the first lines of its answer to ${asked}. Absent: a generic greeting.`,
    );

/** One Slack workspace (a team where the app is installed): `slack.workspaces.<name>`. */
export const slackWorkspace = z
  .strictObject({
    teamId: z
      .string()
      .regex(/^[TE][A-Z0-9]+$/, 'a Slack team id such as T0123ABCD')
      .describe("The workspace's team id (`T…`); events are routed to it by the body's team id."),
    botToken: z.string().min(1).describe('The Bot User OAuth Token (`xoxb-…`) for the Web API.'),
    signingSecret: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The app's Signing Secret: verifies /slack/events and /slack/interactivity. Required unless `socketMode`.",
      ),
    socketMode: z
      .boolean()
      .default(false)
      .describe('Receive events over a Socket Mode WebSocket instead of HTTP (no public URL).'),
    appToken: z
      .string()
      .min(1)
      .optional()
      .describe('App-level token (`xapp-…`, scope `connections:write`); required for Socket Mode.'),
    botUserId: z
      .string()
      .min(1)
      .optional()
      .describe("The bot's user id (`U…`); read from each event's authorizations when absent."),
    description: botDescription('`help`'),
    workflow: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The workflow kind a mention or DM opens when it resumes nothing; absent: never opens works (events only answer or resume existing ones).',
      ),
    busyPolicy: z
      .enum(BUSY_POLICIES)
      .default('inbox')
      .describe(
        "What a message does while the conversation's work is busy (see the Conversations guide).",
      ),
    collectWindow: durationMs
      .default(3_000)
      .describe('The debounce window of the `collect` busy policy.'),
    format: z
      .enum(CHAT_FORMATS)
      .default('markdown')
      .describe("`markdown`: messages' Markdown is sent as Slack mrkdwn; `plain`: as typed."),
    liveness: z
      .enum(LIVENESS_MODES)
      .default('stream')
      .describe(
        "What a thread shows while the assistant's model works: `off`; `typing` (the assistant thread's status); `stream` (the status, and the answer streamed as it is written with chat.startStream, deleted when the answer is posted). The answer itself is always one message.",
      ),
  })
  .superRefine((ws, ctx) => {
    if (ws.socketMode && !ws.appToken) {
      ctx.addIssue({
        code: 'custom',
        path: ['appToken'],
        message: 'socketMode needs an app-level token (xapp-…)',
      });
    }
    if (!ws.socketMode && !ws.signingSecret) {
      ctx.addIssue({
        code: 'custom',
        path: ['signingSecret'],
        message: 'HTTP delivery (socketMode: false) needs the app signing secret',
      });
    }
  });
export type SlackWorkspaceConfig = z.infer<typeof slackWorkspace>;

export const TELEGRAM_MODES = ['webhook', 'polling'] as const;

/** One Telegram bot: `telegram.bots.<name>` (libs/channels/telegram). */
export const telegramBot = z
  .strictObject({
    token: z
      .string()
      .regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token such as 123456789:AAE…')
      .describe(
        'The BotFather token, `<bot id>:<secret>` (from the environment: `${TELEGRAM_BOT_TOKEN}`).',
      ),
    mode: z
      .enum(TELEGRAM_MODES)
      .default('webhook')
      .describe(
        '`webhook`: Telegram POSTs updates to /telegram/<bot>; `polling`: the gateway calls getUpdates itself (no public URL).',
      ),
    secretToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 characters: A-Z a-z 0-9 _ -')
      .optional()
      .describe(
        "setWebhook's secret token, sent back in `X-Telegram-Bot-Api-Secret-Token` with every delivery: 1-256 of A-Z a-z 0-9 _ - (e.g. `openssl rand -hex 32`). Required in webhook mode.",
      ),
    username: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The bot's @username without the @: `/status@other_bot` in a group is then ignored, and `@username` in a group message counts as a mention.",
      ),
    requireMention: z
      .boolean()
      .default(true)
      .describe(
        'In groups, take only messages that @mention the bot (needs `username`), reply to one of its messages, or are its commands; `false`: every message. Private chats are always heard.',
      ),
    description: botDescription('`/help` and `/start`'),
    workflow: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The workflow kind a new message opens when it resumes nothing; absent: never opens works (messages only answer or resume existing ones).',
      ),
    busyPolicy: z
      .enum(BUSY_POLICIES)
      .default('inbox')
      .describe(
        "What a message does while the conversation's work is busy (see the Conversations guide).",
      ),
    collectWindow: durationMs
      .default(3_000)
      .describe('The debounce window of the `collect` busy policy.'),
    format: z
      .enum(CHAT_FORMATS)
      .default('markdown')
      .describe("`markdown`: messages' Markdown is sent as Telegram HTML; `plain`: as typed."),
    pollTimeout: durationMs
      .default(30_000)
      .refine((ms) => ms >= 1_000 && ms <= 50_000 && ms % 1_000 === 0, {
        message: 'pollTimeout must be whole seconds between 1s and 50s',
      })
      .describe('The getUpdates long-poll timeout in polling mode: whole seconds, 1s-50s.'),
    liveness: z
      .enum(LIVENESS_MODES)
      .default('stream')
      .describe(
        "What a chat shows while the assistant's model works: `off`; `typing` (sendChatAction, repeated); `stream` (typing, and the answer as it is written: a draft in private chats, an edited preview message in groups, deleted when the answer is sent). The answer itself is always one message.",
      ),
  })
  .superRefine((bot, ctx) => {
    if (bot.mode === 'webhook' && !bot.secretToken) {
      ctx.addIssue({
        code: 'custom',
        path: ['secretToken'],
        message: 'webhook mode needs a secretToken (it authenticates every delivery)',
      });
    }
  });
export type TelegramBotConfig = z.infer<typeof telegramBot>;

/** An IANA time zone, checked against the runtime's tz database (the one cron-parser uses). */
