import { z } from 'zod';
import { BUSY_POLICIES, parseDurationMs, parsePointer } from '@app/core';
import { parseByteSize } from './byte-size.util';

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
  /** What every chat channel shares. */
  chat: z
    .strictObject({
      /**
       * HMAC secrets for button tokens: the first signs, every one verifies (rotation).
       * Empty: WORKGATE_BUTTON_SECRET, else a development secret derived from the
       * database URL (see libs/channels/core/src/button-secrets.ts) — set one in production.
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
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ key prefix; tests give each file its own so files run in parallel. */
  WORKGATE_QUEUE_PREFIX: z.string().min(1).default('workgate'),
  WORKGATE_CONFIG: z.string().optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WORKER_CONCURRENCY: z.coerce.number().int().positive().optional(),
  WORKER_ID: z.string().optional(),
  /** Comma-separated extra workflow modules (added to workflows.modules). */
  WORKGATE_WORKFLOWS: z.string().optional(),
  /** Signs chat buttons when chat.buttonSecrets is empty (see libs/channels/core/src/button-secrets.ts). */
  WORKGATE_BUTTON_SECRET: z.string().min(16).optional(),
  /** Where the CLI finds a running gateway. */
  WORKGATE_URL: z.string().url().default('http://127.0.0.1:3000'),
});
export type EnvConfig = z.infer<typeof envSchema>;
