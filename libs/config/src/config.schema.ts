import { z } from 'zod';
import { byteSize, durationMs } from './config-primitives';
import { webhookSource, slackWorkspace, telegramBot } from './channel-config.schema';
import { scheduleSpecSchema } from './schedule-config.schema';
import { agentConfigSchema } from './agent-config.schema';
import { parseRedisUrl, redisConfigSchema } from './redis-target';
import { retentionConfigSchema } from './retention.schema';
import { databaseConfigSchema } from './database-config.schema';
import { attachmentsConfigSchema } from './attachments.schema';
import { serverConfigSchema, workerConfigSchema } from './process-config.schema';
import { chatConfigSchema } from './chat-config.schema';

// The sections live in their own files; what the rest of the code imports from here stays.
export * from './config-primitives';
export * from './channel-config.schema';
export * from './schedule-config.schema';
export * from './agent-config.schema';
export * from './agent-profile.schema';
export * from './database-config.schema';
export * from './attachments.schema';
export * from './process-config.schema';

export const fileConfigSchema = z.strictObject({
  server: serverConfigSchema.prefault({}),
  worker: workerConfigSchema.prefault({}),
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
  /** How the ledger's connections behave (see LedgerDatabase, docs/scaling.md). */
  database: databaseConfigSchema,
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
  chat: chatConfigSchema,
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
  /** Files people send in chat and files workgate sends (docs/telegram.md, docs/slack.md). */
  attachments: attachmentsConfigSchema,
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

/** A port number from the environment, overriding the file's; 0 = off. */
const envPort = () => z.coerce.number().int().min(0).max(65535).optional();

export const envSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('The usual Node.js environment name.'),
  DATABASE_URL: z
    .string()
    .url()
    .default('postgresql://postgres@127.0.0.1:5432/workgate')
    .describe('The ledger (PostgreSQL), or a pooler in front of it (PgBouncer; docs/scaling.md).'),
  /** A direct (session) connection for what needs a session: migrations, the poller's lease. */
  DATABASE_MIGRATE_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "A direct PostgreSQL connection (no transaction pooler) for migrations and session locks (the migration lock, the Telegram poller's lease); default DATABASE_URL.",
    ),
  /** A replica for the operator's lists, search and stats (read-only, lag-tolerant). */
  DATABASE_READ_URL: z
    .string()
    .url()
    .optional()
    .describe(
      "A read replica for the operator API's work lists, search and stats (they may lag it); default DATABASE_URL.",
    ),
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
  WORKER_METRICS_PORT: envPort().describe(
    "The worker's Prometheus port, one per replica on a shared host; 0 = off (default from the file: 9464).",
  ),
  /** Overrides worker.healthPort (the probes' port; 0 = off). */
  WORKGATE_WORKER_HEALTH_PORT: envPort().describe(
    "The worker's /health/live and /health/ready port; 0 = off (default from the file: 0).",
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
