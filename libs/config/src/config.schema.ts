import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { BUSY_POLICIES, MISSED_FIRE_POLICIES, parseDurationMs, parsePointer } from '@app/core';
import { parseByteSize } from './byte-size.util';
import { parseRedisUrl, redisConfigSchema } from './redis-target';
import { retentionConfigSchema } from './retention.schema';

const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseByteSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${String(v)} (use e.g. 256kb, 1mb)` });
    return z.NEVER;
  }
  return bytes;
});

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
    scheme: z.enum(WEBHOOK_SCHEMES),
    /** Several secrets are accepted at once so a secret can be rotated without downtime. */
    secrets: z.array(z.string().min(1)).default([]),
    /** Allows `scheme: none`. Only for local experiments: anyone can post. */
    allowUnsigned: z.boolean().default(false),
    /** Defaults to the scheme's own id (webhook-id, X-GitHub-Delivery, the Stripe event id). */
    idempotency: valueLocator.optional(),
    correlation: valueLocator.optional(),
    /** Workflow kind opened when the event resumes nothing; absent = buffer or drop. */
    workflow: z.string().min(1).optional(),
    bodyLimit: byteSize.default(1024 * 1024),
    toleranceSeconds: z.number().int().positive().default(300),
    busyPolicy: z.enum(BUSY_POLICIES).default('inbox'),
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
    /** The team id (`T…`); events are routed to the workspace by the body's team_id. */
    teamId: z.string().regex(/^[TE][A-Z0-9]+$/, 'a Slack team id such as T0123ABCD'),
    /** Bot token (`xoxb-…`) for the Web API. */
    botToken: z.string().min(1),
    /** The app's signing secret: verifies /slack/events and /slack/interactivity. */
    signingSecret: z.string().min(1).optional(),
    /** Receive events over a Socket Mode WebSocket instead of HTTP. */
    socketMode: z.boolean().default(false),
    /** App-level token (`xapp-…`, scope connections:write), for Socket Mode. */
    appToken: z.string().min(1).optional(),
    /** The bot's user id (`U…`); read from each event's authorizations when absent. */
    botUserId: z.string().min(1).optional(),
    /** Workflow kind a mention or DM opens when it resumes nothing; absent = never open. */
    workflow: z.string().min(1).optional(),
    busyPolicy: z.enum(BUSY_POLICIES).default('inbox'),
    /** Debounce window of the `collect` busy policy. */
    collectWindow: durationMs.default(3_000),
    /**
     * How the model's text is sent: `markdown` renders its Markdown (Telegram HTML, Slack
     * mrkdwn); `plain` sends it as typed.
     */
    format: z.enum(CHAT_FORMATS).default('markdown'),
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
    /** The BotFather token, `<bot id>:<secret>` (from the environment: `${TELEGRAM_BOT_TOKEN}`). */
    token: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token such as 123456789:AAE…'),
    /** webhook: Telegram POSTs to /telegram/<name>; polling: the gateway calls getUpdates. */
    mode: z.enum(TELEGRAM_MODES).default('webhook'),
    /** setWebhook's secret_token, echoed in X-Telegram-Bot-Api-Secret-Token (webhook mode). */
    secretToken: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 characters: A-Z a-z 0-9 _ -')
      .optional(),
    /** The bot's @username (without @): `/status@otherbot` in a group is then ignored. */
    username: z.string().min(1).optional(),
    /** Workflow kind a new message opens when it resumes nothing; absent = never open. */
    workflow: z.string().min(1).optional(),
    busyPolicy: z.enum(BUSY_POLICIES).default('inbox'),
    /** Debounce window of the `collect` busy policy. */
    collectWindow: durationMs.default(3_000),
    /**
     * How the model's text is sent: `markdown` renders its Markdown (Telegram HTML, Slack
     * mrkdwn); `plain` sends it as typed.
     */
    format: z.enum(CHAT_FORMATS).default('markdown'),
    /** getUpdates long-poll timeout (polling mode), whole seconds, 1s-50s. */
    pollTimeout: durationMs
      .default(30_000)
      .refine((ms) => ms >= 1_000 && ms <= 50_000 && ms % 1_000 === 0, {
        message: 'pollTimeout must be whole seconds between 1s and 50s',
      }),
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
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'schedule names: lowercase letters, digits, ., - and _'),
    workflow: z.string().min(1),
    /** Five fields, or six with seconds first (cron-parser, as BullMQ reads it). */
    cron: z.string().min(1).optional(),
    /** The cron's time zone (default UTC). */
    timezone: timeZone.optional(),
    every: durationMs.optional(),
    /** A one-shot: an ISO 8601 time with Z or an offset. */
    at: z
      .union([z.iso.datetime({ offset: true }), z.date()])
      .transform((v) => new Date(v))
      .optional(),
    /** Merged into each fire's work input (with `schedule` and `fireAt`). */
    input: z.record(z.string(), z.unknown()).default({}),
    /** Fires that fell due while no worker ran: `fire_once` (the latest of them) or `skip`. */
    missed: z.enum(MISSED_FIRE_POLICIES).default('fire_once'),
    /** Absent: a new schedule is enabled, an existing one keeps its state. */
    enabled: z.boolean().optional(),
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
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cached: z.number().nonnegative().optional(),
});

/** The model behind the `assistant` workflow (libs/agent, README "Agent"). */
export const agentConfigSchema = z.strictObject({
  /**
   * Which OpenAI API the SDK calls: `chat` (Chat Completions, what OpenAI-compatible
   * servers speak) or `responses` (the Responses API, stateless: `store: false`).
   */
  api: z.enum(['chat', 'responses']).default('chat'),
  /** Any OpenAI-compatible server: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio. */
  baseURL: z.string().url().optional(),
  /** `${OPENAI_API_KEY}`; local servers accept any non-empty string. */
  apiKey: z.string().min(1, 'agent.apiKey is empty (set OPENAI_API_KEY)'),
  model: z.string().min(1),
  /** Recorded on each ModelCall (`openai`, `ollama`, …). */
  provider: z.string().min(1).default('openai'),
  system: z
    .string()
    .default(
      'You are a helpful assistant working through a chat. Use the tools when they help; answer briefly.',
    ),
  temperature: z.number().min(0).max(2).optional(),
  /** One model request's time limit; 429/5xx are retried inside the step up to maxAttempts. */
  timeout: durationMs.default(120_000),
  maxAttempts: z.number().int().positive().default(6),
  prices: z.record(z.string().min(1), modelPrice).default({}),
  /** Per-work limits; passing one opens a `budget` wait an operator approves (raising it) or denies. */
  budget: z
    .strictObject({
      tokens: z.number().int().positive().optional(),
      costUsd: z.number().positive().optional(),
      turns: z.number().int().positive().default(20),
    })
    .prefault({}),
  /** Who may answer tool approvals and budget asks (channel user ids, e.g. `telegram:42`); anyone if empty. */
  approvers: z.array(z.string().min(1)).default([]),
  /** Built-in tools that need an approver's yes before they run (e.g. [http_request]). */
  requireApproval: z.array(z.string().min(1)).default([]),
  /** The `http_request` tool: only these hosts (`api.example.com`, `*.example.com`, `127.0.0.1:8080`). */
  http: z
    .strictObject({
      allowHosts: z.array(z.string().min(1)).default([]),
      maxBytes: byteSize.default(256 * 1024),
      timeout: durationMs.default(10_000),
    })
    .prefault({}),
  /** The `send_message` tool's destinations by name (the model picks a name, never an address). */
  targets: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'target names: lowercase letters, digits, - and _'),
      z.strictObject({
        channel: z.string().min(1),
        target: z.string().min(1),
        thread: z.string().optional(),
      }),
    )
    .default({}),
  /**
   * After an answer in a chat, the work waits this long for the next message in that
   * conversation and carries on with the whole conversation; `0` ends it after the answer.
   */
  followUpWindow: durationMs.default(30 * 60_000),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export const fileConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(3000),
      /** Limit for every JSON body that is not a webhook (webhooks have their own). */
      bodyLimit: byteSize.default(256 * 1024),
      shutdownGrace: durationMs.default(10_000),
    })
    .prefault({}),
  worker: z
    .strictObject({
      concurrency: z.number().int().positive().default(8),
      lease: durationMs.default(30_000),
      reconcileEvery: durationMs.default(5_000),
      /** Prometheus /metrics of the worker on its own small HTTP listener; 0 = off. */
      metricsPort: z.number().int().min(0).max(65535).default(9464),
      metricsHost: z.string().default('0.0.0.0'),
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
      shards: z.number().int().min(1).max(256).default(1),
    })
    .prefault({}),
  /** How the ledger's connections treat locks (see LedgerDatabase). */
  database: z
    .strictObject({
      /** The longest a statement waits for a lock before failing (55P03) to be retried. */
      lockTimeout: durationMs.default(5_000),
      /** PostgreSQL ends a session idle inside a transaction this long (a frozen process). */
      idleInTransactionTimeout: durationMs.default(10_000),
    })
    .prefault({}),
  workflows: z
    .strictObject({
      /** Extra modules (compiled JS) exporting workflow definitions, resolved from the config file's folder. */
      modules: z.array(z.string().min(1)).default([]),
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
        .transform((u) => (u.endsWith('/') ? u : `${u}/`)),
      /** Limit for /slack/* request bodies. */
      bodyLimit: byteSize.default(1024 * 1024),
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
        .transform((u) => (u.endsWith('/') ? u : `${u}/`)),
      /** Limit for /telegram/* request bodies. */
      bodyLimit: byteSize.default(1024 * 1024),
      /** Polling: how often a standby replica tries to take a bot over, and the pause after a failed getUpdates. */
      pollRetry: durationMs.default(5_000),
      /** Outbound rate limits per bot (Bot API FAQ); raise them only for paid broadcasts. */
      limits: z
        .strictObject({
          perChatPerSecond: z.number().int().positive().default(1),
          perBotPerSecond: z.number().int().positive().default(30),
          perGroupPerMinute: z.number().int().positive().default(20),
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
      buttonSecrets: z.array(z.string().min(16, 'button secrets need 16+ characters')).default([]),
      /**
       * One person, several channel identities: a wait that names any of them may be
       * answered by all of them (e.g. `ana: [telegram:111, slack:T1:U1]`).
       */
      identities: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
    })
    .prefault({}),
  /** Outbound HTTP targets for `ctx.send({ channel: 'http', target: <name> }, …)`. */
  outbound: z
    .strictObject({
      /** Delivery attempts per outbox row before it is marked failed (operators can retry it). */
      maxAttempts: z.number().int().positive().default(10),
      /** First retry delay; doubles per attempt (with jitter) up to maxRetryDelay. */
      retryDelay: durationMs.default(1_000),
      maxRetryDelay: durationMs.default(10 * 60_000),
      /**
       * How long one delivery attempt may take before the row counts as abandoned (the
       * worker died mid-send) and is delivered again with the same idempotency key.
       */
      attemptDeadline: durationMs.default(60_000),
      http: z
        .record(
          z
            .string()
            .regex(/^[a-z0-9][a-z0-9_-]*$/, 'target names: lowercase letters, digits, - and _'),
          z.strictObject({
            url: z.string().url(),
            /** Standard Webhooks signing secret (whsec_…); unsigned when absent. */
            secret: z.string().min(1).optional(),
            headers: z.record(z.string(), z.string()).default({}),
            timeout: durationMs.default(10_000),
            /** Deliveries per second to this target (none: unlimited). */
            ratePerSecond: z.number().positive().optional(),
          }),
        )
        .default({}),
    })
    .prefault({}),
  /** Deleting old finished works and old inbound events (docs/retention.md). */
  retention: retentionConfigSchema,
  /** The model for the `assistant` workflow kind; absent = no model (routes to `assistant` are refused at start). */
  agent: agentConfigSchema.optional(),
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
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/workgate'),
  /** A PostgreSQL schema other than public (tests give each file its own). */
  WORKGATE_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public'),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
  /** redis://, rediss://, redis-cluster://h1:p1,h2:p2 or redis-sentinel://s1:p1,s2:p2/<name> (see redis-target.ts). */
  REDIS_URL: z
    .string()
    .default('redis://127.0.0.1:6379')
    .superRefine((url, ctx) => {
      const target = parseRedisUrl(url);
      if (typeof target === 'string') ctx.addIssue({ code: 'custom', message: target });
    }),
  /**
   * Start although Redis's maxmemory-policy is not noeviction (BullMQ's keys could be
   * evicted: jobs, delayed wakes, locks). Worker and gateway refuse otherwise.
   */
  WORKGATE_ALLOW_REDIS_EVICTION: z.stringbool().default(false),
  /** BullMQ key prefix; tests give each file its own so files run in parallel. */
  WORKGATE_QUEUE_PREFIX: z.string().min(1).default('workgate'),
  WORKGATE_CONFIG: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().optional(),
  WORKER_ID: z.string().optional(),
  /** Overrides worker.metricsPort (one per replica on a shared host; 0 = off). */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Comma-separated extra workflow modules (added to workflows.modules). */
  WORKGATE_WORKFLOWS: z.string().optional(),
  /** Signs chat buttons when chat.buttonSecrets is empty (see libs/security/src/button-secrets.ts). */
  WORKGATE_BUTTON_SECRET: z.string().min(16).optional(),
  /** Where the CLI finds a running gateway. */
  WORKGATE_URL: z.string().url().default('http://127.0.0.1:3000'),
  /** The CLI's bearer token for the operator API (`workgate tokens create`). */
  WORKGATE_TOKEN: z.string().min(1).optional(),
  /**
   * A bootstrap operator token the gateway accepts besides the stored ones (acts as
   * `token:bootstrap`). For first setup and automation; prefer stored tokens.
   */
  WORKGATE_API_TOKEN: z
    .string()
    .min(32, 'WORKGATE_API_TOKEN needs 32+ characters (e.g. `openssl rand -base64 32`)')
    .optional(),
});
export type EnvConfig = z.infer<typeof envSchema>;
