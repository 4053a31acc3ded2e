import { type INestApplicationContext } from '@nestjs/common';
import { type AgentTool, configureAgent, registerTool } from '@app/agent';
import {
  type AppConfig,
  createLogger,
  exitGracefully,
  loadConfig,
  sessionDatabaseUrl,
} from '@app/config';
import { type AnyWorkflowDefinition } from '@app/engine';
import { runMigrations } from '@app/ledger';
import { startWorkerApp } from './worker/worker.app';

export interface WorkerSettings {
  /** The workflows this worker runs (each kind once). */
  workflows: AnyWorkflowDefinition[];
  /** Agent tools every assistant workflow offers besides the built-ins. */
  tools?: AgentTool[];
  /**
   * Settings, as in workgate.config.yaml (`worker`, `agent`, `schedules`…). Environment
   * variables (DATABASE_URL, REDIS_URL, WORKGATE_QUEUE_PREFIX, LOG_LEVEL…) are read as
   * the gateway reads them; `env` replaces process.env.
   */
  config?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** A workgate.config.yaml to read first (null: none, the default). */
  configPath?: string | null;
  /** Exit on SIGINT/SIGTERM after draining as `close` does (default true). */
  handleSignals?: boolean;
}

export interface Worker {
  /** The parsed settings the worker runs with. */
  readonly config: AppConfig;
  /** The Nest application context (advanced: its providers). */
  readonly app: INestApplicationContext;
  /**
   * Stops taking jobs, lets the runs in flight reach a step boundary within
   * server.shutdownGrace and gives the rest back to the other workers, closes connections.
   */
  close(): Promise<void>;
}

function settingsOf(settings: Pick<WorkerSettings, 'config' | 'env' | 'configPath'>): AppConfig {
  return loadConfig({
    // undefined: loadConfig reads process.env, as the gateway and apps/worker do.
    env: settings.env,
    path: settings.configPath ?? null,
    overrides: settings.config,
  });
}

/**
 * Runs a worker inside the caller's process, like a Temporal worker: it claims works of
 * the given kinds from the ledger (PostgreSQL) through the queues (Redis), and registers
 * the kinds and their input schemas so a gateway can start them (POST /api/v1/works).
 */
export async function createWorker(settings: WorkerSettings): Promise<Worker> {
  const config = settingsOf(settings);
  const logger = createLogger(config, 'worker');
  configureAgent(config.agent);
  for (const tool of settings.tools ?? []) registerTool(tool);
  const app = await startWorkerApp({ config, logger, workflows: settings.workflows });
  const close = () => app.close();
  if (settings.handleSignals ?? true)
    exitGracefully({ close, logger, graceMs: config.server.shutdownGrace });
  return { config, app, close };
}

/**
 * Applies the ledger's migrations (what `workgate migrate` does) through
 * DATABASE_MIGRATE_URL, else DATABASE_URL: the migration lock is a session lock.
 */
export async function migrate(
  settings: Pick<WorkerSettings, 'config' | 'env' | 'configPath'> = {},
): Promise<{ applied: string[] }> {
  const config = settingsOf(settings);
  const result = await runMigrations({
    connectionString: sessionDatabaseUrl(config),
    schema: config.env.WORKGATE_DB_SCHEMA,
  });
  return { applied: result.applied };
}
