import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type z } from 'zod';
import { envSchema, fileConfigSchema, type EnvConfig, type FileConfig } from './config.schema';
import { interpolateEnv } from './interpolate.util';
import { redisTargetOf } from './redis-target';
import { databaseSettingsProblem } from './database-urls';

/** Everything a process needs, parsed and validated once at boot, then injected. */
export interface AppConfig extends FileConfig {
  env: EnvConfig;
  configPath: string | undefined;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatIssues(where: string, issues: z.core.$ZodIssue[]): string {
  return issues
    .map(
      (i) => `  ${where}${i.path.length ? `.${i.path.map(String).join('.')}` : ''}: ${i.message}`,
    )
    .join('\n');
}

export interface LoadConfigOptions {
  env?: Record<string, string | undefined>;
  /** A config file path; defaults to $WORKGATE_CONFIG, then ./workgate.config.yaml if present; null: none. */
  path?: string | null;
  /** Overrides merged over the file (tests use it instead of writing files). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const rawEnv = options.env ?? process.env;
  const envResult = envSchema.safeParse(rawEnv);
  if (!envResult.success) {
    throw new ConfigError(`Invalid environment:\n${formatIssues('env', envResult.error.issues)}`);
  }
  const env = envResult.data;

  // `path: null` means "no file" (tests and the CLI pass everything as overrides).
  const candidate =
    options.path === null
      ? undefined
      : (options.path ?? env.WORKGATE_CONFIG ?? 'workgate.config.yaml');
  const configPath =
    candidate !== undefined && existsSync(candidate) ? resolve(candidate) : undefined;
  if (candidate !== undefined && !configPath && (options.path ?? env.WORKGATE_CONFIG)) {
    throw new ConfigError(`Config file not found: ${candidate}`);
  }
  let fileData: unknown = {};
  if (configPath) {
    try {
      fileData = parseYaml(readFileSync(configPath, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`Cannot parse ${configPath}: ${(err as Error).message}`);
    }
  }
  const merged = { ...(fileData as Record<string, unknown>), ...(options.overrides ?? {}) };
  const missing: string[] = [];
  const interpolated = interpolateEnv(merged, rawEnv, '', missing);
  if (missing.length) {
    throw new ConfigError(
      `${configPath ?? 'config'} refers to unset environment variables: ${missing.join(', ')}`,
    );
  }
  const parsed = fileConfigSchema.safeParse(interpolated);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid config in ${configPath ?? 'overrides'}:\n${formatIssues('config', parsed.error.issues)}`,
    );
  }
  const config = parsed.data;
  try {
    redisTargetOf({ env, redis: config.redis });
  } catch (err) {
    throw new ConfigError(`Invalid Redis settings: ${(err as Error).message}`);
  }
  const databaseProblem = databaseSettingsProblem({ env, database: config.database });
  if (databaseProblem) throw new ConfigError(`Invalid database settings: ${databaseProblem}`);
  if (env.PORT !== undefined) config.server.port = env.PORT;
  if (env.HOST !== undefined) config.server.host = env.HOST;
  if (env.WORKER_CONCURRENCY !== undefined) config.worker.concurrency = env.WORKER_CONCURRENCY;
  if (env.WORKER_METRICS_PORT !== undefined) config.worker.metricsPort = env.WORKER_METRICS_PORT;
  if (env.WORKGATE_WORKER_HEALTH_PORT !== undefined)
    config.worker.healthPort = env.WORKGATE_WORKER_HEALTH_PORT;
  return { ...config, env, configPath };
}
