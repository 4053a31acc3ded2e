import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { BUSY_POLICIES, MISSED_FIRE_POLICIES, parseDurationMs, parsePointer } from '@app/core';
import { parseByteSize } from './byte-size.util';
import { parseRedisUrl, redisConfigSchema } from './redis-target';
import { retentionConfigSchema } from './retention.schema';

/** A size: `256kb`, `1mb`, or a number of bytes. */
export const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseByteSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${String(v)} (use e.g. 256kb, 1mb)` });
    return z.NEVER;
  }
  return bytes;
});

/** A duration: `500ms`, `30s`, `5m`, `2h`, `1d`, compounds such as `1h30m`, or milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${String(v)} (use e.g. 500ms, 30s, 5m, 2h, 1d)`,
    });
    return z.NEVER;
  }
  return ms;
});

export const WEBHOOK_SCHEMES = ['standard-webhooks', 'github', 'stripe', 'none'] as const;
export type WebhookScheme = (typeof WEBHOOK_SCHEMES)[number];

/** Where a value is read from in a delivery: a request header, or a JSON pointer into the body. */
const valueLocator = z.union([
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

const webhookSource = z
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

/** One Slack workspace (a team where the app is installed): `slack.workspaces.<name>`. */
const slackWorkspace = z
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
const telegramBot = z
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
        "The bot's @username without the @: `/status@other_bot` in a group is then ignored.",
      ),
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
const timeZone = z
  .string()
  .min(1)
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not an IANA time zone (e.g. Europe/Berlin, UTC)' },
  );

/** Schedule.intervalMs is a 32-bit column; below 100 ms a schedule would only load Redis. */
const MAX_INTERVAL_MS = 2_147_483_647;
const MIN_INTERVAL_MS = 100;

/**
 * One schedule (`schedules:` in the file, or ScheduleService.define in code): which
 * workflow to start, and exactly one of `cron` (+ `timezone`), `every` or `at`.
 */
export const scheduleSpecSchema = z
  .strictObject({
    name: z
      .string()
      .max(200)
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'schedule names: lowercase letters, digits, ., - and _')
      .describe('Unique; lowercase letters, digits, ., - and _.'),
    workflow: z
      .string()
      .min(1)
      .describe(
        'The workflow kind each fire starts; must be registered, or the worker refuses to start.',
      ),
    // cron-parser reads it, as BullMQ does.
    cron: z
      .string()
      .min(1)
      .optional()
      .describe('A cron expression: five fields, or six with seconds first.'),
    timezone: timeZone
      .optional()
      .describe("The cron's IANA time zone (e.g. Europe/Berlin); default UTC, DST handled."),
    every: durationMs
      .optional()
      .describe(
        'A fixed interval, 100ms…24d, aligned to the Unix epoch (15m fires at :00, :15, :30, :45 UTC).',
      ),
    at: z
      .union([z.iso.datetime({ offset: true }), z.date()])
      .transform((v) => new Date(v))
      .optional()
      .describe('A one-shot: an ISO 8601 time with Z or an offset; fires once.'),
    input: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "Merged into each fire's work input, with `schedule` (the name) and `fireAt` (the slot, ISO 8601).",
      ),
    missed: z
      .enum(MISSED_FIRE_POLICIES)
      .default('fire_once')
      .describe(
        'Slots more than 60 s late (the workers were down) collapse into the latest: `fire_once` fires it once, `skip` waits for the next slot.',
      ),
    enabled: z
      .boolean()
      .optional()
      .describe('Absent: a new schedule is enabled, an existing one keeps its state.'),
  })
  .superRefine((s, ctx) => {
    const timings = (['cron', 'every', 'at'] as const).filter((k) => s[k] !== undefined);
    if (timings.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `a schedule needs exactly one of cron, every or at${timings.length ? ` (got ${timings.join(', ')})` : ''}`,
      });
    if (s.timezone !== undefined && s.cron === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: 'timezone applies to cron only',
      });
    if (s.cron !== undefined) {
      try {
        CronExpressionParser.parse(s.cron, { tz: s.timezone ?? 'UTC' }).next();
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['cron'],
          message: `not a cron expression: ${(err as Error).message}`,
        });
      }
    }
    if (s.every !== undefined && (s.every < MIN_INTERVAL_MS || s.every > MAX_INTERVAL_MS))
      ctx.addIssue({
        code: 'custom',
        path: ['every'],
        message: `every must be between ${MIN_INTERVAL_MS}ms and 24d`,
      });
  });
export type ScheduleSpec = z.input<typeof scheduleSpecSchema>;
export type ScheduleConfig = z.output<typeof scheduleSpecSchema>;

/** Price per 1M tokens, USD (ModelCall.costUsd). `cached` defaults to `input`. */
const modelPrice = z.strictObject({
  input: z.number().nonnegative().describe('USD per 1M input tokens.'),
  output: z.number().nonnegative().describe('USD per 1M output tokens.'),
  cached: z
    .number()
    .nonnegative()
    .optional()
    .describe('USD per 1M cached input tokens; defaults to `input`.'),
});

/** The model behind the `assistant` workflow (libs/agent, docs/agent.md). */
export const agentConfigSchema = z.strictObject({
  /**
   * Which OpenAI API the SDK calls: `chat` (Chat Completions, what OpenAI-compatible
   * servers speak) or `responses` (the Responses API, stateless: `store: false`).
   */
  api: z
    .enum(['chat', 'responses'])
    .default('chat')
    .describe(
      '`chat`: Chat Completions, which every OpenAI-compatible server speaks; `responses`: the Responses API, stateless (`store: false`).',
    ),
  /** Any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio. */
  baseURL: z
    .string()
    .url()
    .optional()
    .describe('Any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio.'),
  /** `${OPENAI_API_KEY}`; local servers accept any non-empty string. */
  apiKey: z
    .string()
    .min(1, 'agent.apiKey is empty (set OPENAI_API_KEY)')
    .describe('`${OPENAI_API_KEY}`; local servers accept any non-empty string.'),
  model: z.string().min(1).describe('The model, e.g. gpt-4o-mini (llama3.1 on Ollama).'),
  /** Recorded on each ModelCall (`openai`, `ollama`, …). */
  provider: z
    .string()
    .min(1)
    .default('openai')
    .describe('Recorded on each ModelCall (`openai`, `ollama`, …).'),
  system: z
    .string()
    .default(
      'You are a helpful assistant working through a chat. Use the tools when they help; answer briefly.',
    )
    .describe('The system prompt.'),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .optional()
    .describe("Sampling temperature, 0-2; the server's default when absent."),
  /** One model request's time limit; 429/5xx are retried inside the step up to maxAttempts. */
  timeout: durationMs.default(120_000).describe("One model request's time limit."),
  maxAttempts: z
    .number()
    .int()
    .positive()
    .default(6)
    .describe(
      "429, 5xx and connection errors are retried inside the step up to this many attempts; then the work's own retry policy.",
    ),
  prices: z
    .record(z.string().min(1), modelPrice)
    .default({})
    .describe(
      'USD per 1M tokens by model name, for ModelCall.costUsd; a model missing here costs 0.',
    ),
  /** Per-work limits; passing one opens a `budget` wait an operator approves (raising it) or denies. */
  budget: z
    .strictObject({
      tokens: z.number().int().positive().optional().describe('Tokens per work.'),
      costUsd: z.number().positive().optional().describe('Model cost per work, USD.'),
      turns: z.number().int().positive().default(20).describe('Model calls per work.'),
    })
    .prefault({}),
  /** Who may answer tool approvals and budget asks (channel user ids, e.g. `telegram:42`); anyone if empty. */
  approvers: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Who may answer tool approvals and budget asks (channel user ids, e.g. telegram:42); anyone if empty.',
    ),
  /** Built-in tools that need an approver's yes before they run (e.g. [http_request]). */
  requireApproval: z
    .array(z.string().min(1))
    .default([])
    .describe("Built-in tools that need an approver's yes before they run (e.g. [http_request])."),
  /** The `http_request` tool: only these hosts (`api.example.com`, `*.example.com`, `127.0.0.1:8080`). */
  http: z
    .strictObject({
      allowHosts: z
        .array(z.string().min(1))
        .default([])
        .describe(
          'The http_request tool may call only these hosts (api.example.com, *.example.com, 127.0.0.1:8080); offered only when set.',
        ),
      maxBytes: byteSize.default(256 * 1024).describe('Larger answers are errors.'),
      timeout: durationMs.default(10_000).describe('Slower answers are errors.'),
    })
    .prefault({}),
  /** The `send_message` tool's destinations by name (the model picks a name, never an address). */
  targets: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'target names: lowercase letters, digits, - and _'),
      z.strictObject({
        channel: z.string().min(1).describe('The channel: telegram, slack or http.'),
        target: z.string().min(1).describe("The channel's target, e.g. main:-1001234567890."),
        thread: z.string().optional().describe('The thread to post in.'),
      }),
    )
    .default({}),
  /**
   * After an answer in a chat, the work waits this long for the next message in that
   * conversation and carries on with the whole conversation; `0` ends it after the answer.
   */
  followUpWindow: durationMs
    .default(30 * 60_000)
    .describe(
      'After an answer in a chat, how long the work waits for a follow-up message in that conversation; `0` ends it after the answer.',
    ),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const fileConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0').describe('Gateway listen address (HOST overrides it).'),
      port: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(3000)
        .describe('Gateway listen port (PORT overrides it).'),
      /** Limit for every JSON body that is not a webhook (webhooks have their own). */
      bodyLimit: byteSize
        .default(256 * 1024)
        .describe('Limit for every JSON body that is not a webhook (webhooks have their own).'),
      shutdownGrace: durationMs
        .default(10_000)
        .describe(
          'SIGTERM/SIGINT: stop accepting, finish in-flight requests, close pools, exit 0; exit 1 if it takes longer than this.',
        ),
    })
    .prefault({}),
  worker: z
    .strictObject({
      concurrency: z
        .number()
        .int()
        .positive()
        .default(8)
        .describe('Works run at once per worker (WORKER_CONCURRENCY overrides it).'),
      lease: durationMs
        .default(30_000)
        .describe(
          'A run holds a lease with a fencing token; heartbeats renew it every lease/3, and a worker that lost it cannot land a write.',
        ),
      reconcileEvery: durationMs
        .default(5_000)
        .describe(
          'How often the reconciler runs: expired leases back to the queue, QUEUED works without a job enqueued, due timers fired, pending outbox rows enqueued.',
        ),
      /** Prometheus /metrics of the worker on its own small HTTP listener; 0 = off. */
      metricsPort: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(9464)
        .describe(
          "The worker's Prometheus /metrics port on its own small listener; 0 = off (WORKER_METRICS_PORT overrides it).",
        ),
      metricsHost: z
        .string()
        .default('0.0.0.0')
        .describe("Listen address of the worker's /metrics."),
    })
    .prefault({}),
  /** Redis Cluster or Sentinel (docs/scaling.md); without it REDIS_URL says where Redis is. */
  redis: redisConfigSchema.prefault({}),
  /** BullMQ queues (docs/scaling.md). */
  queues: z
    .strictObject({
      /**
       * The work, wake and outbox queues each split into this many BullMQ queues by a
       * stable hash of the id a job is about; on a Redis Cluster each shard is its own
       * hash slot, so shards spread over the masters. Every worker consumes every shard.
       */
      shards: z
        .number()
        .int()
        .min(1)
        .max(256)
        .default(1)
        .describe(
          'How many BullMQ queues each of work, wake and outbox is split into (by a stable hash of the id; docs/scaling.md).',
        ),
    })
    .prefault({}),
  /** How the ledger's connections treat locks (see LedgerDatabase). */
  database: z
    .strictObject({
      /** The longest a statement waits for a lock before failing (55P03) to be retried. */
      lockTimeout: durationMs
        .default(5_000)
        .describe('The longest a statement waits for a lock before failing (55P03) to be retried.'),
      /** PostgreSQL ends a session idle inside a transaction this long (a frozen process). */
      idleInTransactionTimeout: durationMs
        .default(10_000)
        .describe(
          'PostgreSQL ends a session idle inside a transaction this long (a frozen process).',
        ),
    })
    .prefault({}),
  workflows: z
    .strictObject({
      /** Extra modules (compiled JS) exporting workflow definitions, resolved from the config file's folder. */
      modules: z
        .array(z.string().min(1))
        .default([])
        .describe(
          "Extra modules (compiled JavaScript) exporting workflow definitions, resolved from the config file's folder; WORKGATE_WORKFLOWS adds more.",
        ),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      sources: z
        .record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]*$/, 'source names: lowercase letters, digits, - and _'),
          webhookSource,
        )
        .default({}),
    })
    .prefault({}),
  /** Slack workspaces (libs/channels/slack): Events API, interactivity, Socket Mode, Web API. */
  slack: z
    .strictObject({
      /** Web API base URL (tests point it at a loopback server). */
      apiUrl: z
        .string()
        .url()
        .default('https://slack.com/api/')
        .transform((u) => (u.endsWith('/') ? u : `${u}/`))
        .describe('Where the Slack Web API is called (tests point it at a loopback server).'),
      /** Limit for /slack/* request bodies. */
      bodyLimit: byteSize.default(1024 * 1024).describe('Limit for /slack/* request bodies.'),
      workspaces: z
        .record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]*$/, 'workspace names: lowercase letters, digits, - and _'),
          slackWorkspace,
        )
        .default({}),
    })
    .prefault({}),
  /** Telegram bots (libs/channels/telegram): webhook at /telegram/<bot>, or long polling. */
  telegram: z
    .strictObject({
      /** Bot API base URL (tests point it at a loopback server). */
      apiRoot: z
        .string()
        .url()
        .default('https://api.telegram.org/')
        // Telegraf resolves `./bot<token>/<method>` against it: a path prefix needs the slash.
        .transform((u) => (u.endsWith('/') ? u : `${u}/`))
        .describe('Where the Bot API is called (a local Bot API server works too).'),
      /** Limit for /telegram/* request bodies. */
      bodyLimit: byteSize.default(1024 * 1024).describe('Limit for /telegram/* request bodies.'),
      /** Polling: how often a standby replica tries to take a bot over, and the pause after a failed getUpdates. */
      pollRetry: durationMs
        .default(5_000)
        .describe(
          'Polling: how often a standby replica tries to take a bot over, and the pause after a failed getUpdates.',
        ),
      /** Outbound rate limits per bot (Bot API FAQ); raise them only for paid broadcasts. */
      limits: z
        .strictObject({
          perChatPerSecond: z
            .number()
            .int()
            .positive()
            .default(1)
            .describe('Messages a second per chat.'),
          perBotPerSecond: z
            .number()
            .int()
            .positive()
            .default(30)
            .describe('Messages a second per bot.'),
          perGroupPerMinute: z
            .number()
            .int()
            .positive()
            .default(20)
            .describe('Messages a minute per group.'),
        })
        .prefault({}),
      bots: z
        .record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]*$/, 'bot names: lowercase letters, digits, - and _'),
          telegramBot,
        )
        .default({}),
    })
    .prefault({}),
  /** What every chat channel shares. */
  chat: z
    .strictObject({
      /**
       * HMAC secrets for button tokens: the first signs, every one verifies (rotation).
       * Empty: WORKGATE_BUTTON_SECRET, else a random secret the first gateway or worker
       * generates and keeps in the ledger (InstallationSecret `buttons`), shared by all.
       */
      buttonSecrets: z
        .array(z.string().min(16, 'button secrets need 16+ characters'))
        .default([])
        .describe(
          'HMAC secrets for button tokens: the first signs, every one verifies (rotation). Empty: WORKGATE_BUTTON_SECRET, else a random secret the first gateway or worker generates and keeps in the ledger, shared by all.',
        ),
      /**
       * One person, several channel identities: a wait that names any of them may be
       * answered by all of them (e.g. `ana: [telegram:111, slack:T1:U1]`).
       */
      identities: z
        .record(z.string().min(1), z.array(z.string().min(1)).min(1))
        .default({})
        .describe(
          'One person, several channel identities (`ana: [telegram:111, slack:T1:U1]`): a wait that names any of them may be answered by all of them.',
        ),
    })
    .prefault({}),
  /** Outbound HTTP targets for `ctx.send({ channel: 'http', target: <name> }, …)`. */
  outbound: z
    .strictObject({
      /** Delivery attempts per outbox row before it is marked failed (operators can retry it). */
      maxAttempts: z
        .number()
        .int()
        .positive()
        .default(10)
        .describe(
          'Delivery attempts per outbox row before it is marked failed (operators can retry it).',
        ),
      /** First retry delay; doubles per attempt (with jitter) up to maxRetryDelay. */
      retryDelay: durationMs
        .default(1_000)
        .describe(
          "First retry delay; doubles per attempt (with jitter) up to maxRetryDelay, never sooner than the provider's Retry-After.",
        ),
      maxRetryDelay: durationMs.default(10 * 60_000).describe('The longest retry delay.'),
      /**
       * How long one delivery attempt may take before the row counts as abandoned (the
       * worker died mid-send) and is delivered again with the same idempotency key.
       */
      attemptDeadline: durationMs
        .default(60_000)
        .describe(
          'How long one delivery attempt may take before the row counts as abandoned (the worker died mid-send) and is delivered again with the same idempotency key.',
        ),
      http: z
        .record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]*$/, 'target names: lowercase letters, digits, - and _'),
          z.strictObject({
            url: z.string().url().describe('Where messages are POSTed as JSON.'),
            /** Standard Webhooks signing secret (whsec_…); unsigned when absent. */
            secret: z
              .string()
              .min(1)
              .optional()
              .describe('Standard Webhooks signing secret (whsec_…); unsigned when absent.'),
            headers: z
              .record(z.string(), z.string())
              .default({})
              .describe('Extra request headers.'),
            timeout: durationMs.default(10_000).describe("One delivery's time limit."),
            /** Deliveries per second to this target (none: unlimited). */
            ratePerSecond: z
              .number()
              .positive()
              .optional()
              .describe('Deliveries per second to this target (none: unlimited).'),
          }),
        )
        .default({}),
    })
    .prefault({}),
  /** Deleting old finished works and old inbound events (docs/retention.md). */
  retention: retentionConfigSchema,
  /** The model for the `assistant` workflow kind; absent = no model (routes to `assistant` are refused at start). */
  agent: agentConfigSchema
    .optional()
    .describe(
      'The model for the `assistant` workflow kind; absent: no model (routes to `assistant` are refused at start).',
    ),
  /** Schedules the worker upserts by name at start (config wins for the fields it sets). */
  schedules: z
    .array(scheduleSpecSchema)
    .default([])
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((s, i) => {
        if (seen.has(s.name))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'name'],
            message: `schedule "${s.name}" is defined twice`,
          });
        seen.add(s.name);
      });
    }),
});
export type FileConfig = z.infer<typeof fileConfigSchema>;

export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('The usual Node.js environment name.'),
  DATABASE_URL: z
    .string()
    .url()
    .default('postgresql://postgres@127.0.0.1:5432/workgate')
    .describe('The ledger (PostgreSQL).'),
  /** A PostgreSQL schema other than public (tests give each file its own). */
  WORKGATE_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public')
    .describe('PostgreSQL schema for the ledger tables (tests give each file its own).'),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .positive()
    .default(10)
    .describe('Connections per process.'),
  /** redis://, rediss://, redis-cluster://h1:p1,h2:p2 or redis-sentinel://s1:p1,s2:p2/<name> (see redis-target.ts). */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((url, ctx) => {
      const target = parseRedisUrl(url);
      if (typeof target === 'string') ctx.addIssue({ code: 'custom', message: target });
    })
    .describe(
      'BullMQ transport (Redis ≥ 7 with maxmemory-policy noeviction): redis://, rediss://, redis-cluster://h1:p1,h2:p2 or redis-sentinel://s1:p1,s2:p2/<master> (docs/scaling.md).',
    ),
  /**
   * Start although Redis's maxmemory-policy is not noeviction (BullMQ's keys could be
   * evicted: jobs, delayed wakes, locks). Worker and gateway refuse otherwise.
   */
  WORKGATE_ALLOW_REDIS_EVICTION: z
    .stringbool()
    .default(false)
    .describe(
      "Start although Redis's maxmemory-policy is not noeviction (then an error is logged; BullMQ loses jobs under eviction).",
    ),
  /** BullMQ key prefix; tests give each file its own so files run in parallel. */
  WORKGATE_QUEUE_PREFIX: z
    .string()
    .min(1)
    .default('workgate')
    .describe('Redis key prefix of the queues (and of the nudge channel).'),
  WORKGATE_CONFIG: z
    .string()
    .optional()
    .describe(
      'The config file; default ./workgate.config.yaml when it exists (the file is optional).',
    ),
  PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe('Gateway listen port (default from the file: 3000).'),
  HOST: z.string().optional().describe('Gateway listen address (default from the file: 0.0.0.0).'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('Log level of the JSON log lines (pino): fatal…trace, silent.'),
  WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('Works run at once per worker (default from the file: 8).'),
  WORKER_ID: z
    .string()
    .optional()
    .describe(
      "This worker's name in leases and PostgreSQL's application_name (default: host and pid).",
    ),
  /** Overrides worker.metricsPort (one per replica on a shared host; 0 = off). */
  WORKER_METRICS_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe(
      "The worker's Prometheus port, one per replica on a shared host; 0 = off (default from the file: 9464).",
    ),
  /** Comma-separated extra workflow modules (added to workflows.modules). */
  WORKGATE_WORKFLOWS: z
    .string()
    .optional()
    .describe('Comma-separated extra workflow modules (added to workflows.modules).'),
  /** Signs chat buttons when chat.buttonSecrets is empty (see libs/security/src/button-secrets.ts). */
  WORKGATE_BUTTON_SECRET: z
    .string()
    .min(16)
    .optional()
    .describe('Signs chat buttons when chat.buttonSecrets is empty.'),
  /** Where the CLI finds a running gateway. */
  WORKGATE_URL: z
    .string()
    .url()
    .default('http://127.0.0.1:3000')
    .describe('Where the CLI finds the gateway.'),
  /** The CLI's bearer token for the operator API (`workgate tokens create`). */
  WORKGATE_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe("The CLI's operator API token (workgate tokens create)."),
  /**
   * A bootstrap operator token the gateway accepts besides the stored ones (acts as
   * `token:bootstrap`). For first setup and automation; prefer stored tokens.
   */
  WORKGATE_API_TOKEN: z
    .string()
    .min(32, 'WORKGATE_API_TOKEN needs 32+ characters (e.g. `openssl rand -base64 32`)')
    .optional()
    .describe(
      'A bootstrap operator token the gateway accepts besides the stored ones (32+ characters; acts as token:bootstrap). For first setup and automation; prefer stored tokens.',
    ),
});
export type EnvConfig = z.infer<typeof envSchema>;
