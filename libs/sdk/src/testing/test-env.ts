import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type INestApplicationContext } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { type AgentTool, configureAgent, registerTool, userTools } from '@app/agent';
import { type AppConfig, createLogger, loadConfig } from '@app/config';
import { type IngestResult, parseDurationMs, scopedExternalId } from '@app/core';
import { type AnyWorkflowDefinition, type Duration, EngineControl } from '@app/engine';
import {
  IngestService,
  LedgerDatabase,
  runMigrations,
  WORK_DISPATCHER,
  type WorkDispatcher,
} from '@app/ledger';
import { startWorkerApp } from '../worker/worker.app';
import { SkippingClock } from './skipping-clock';

export interface TestEnvOptions {
  /** The workflows under test. */
  workflows: AnyWorkflowDefinition[];
  tools?: AgentTool[];
  /** Default: DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres. */
  databaseUrl?: string;
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Settings as in workgate.config.yaml (`worker`, `agent`…). */
  config?: Record<string, unknown>;
  /** The worker's log level (default `silent`; LOG_LEVEL overrides). */
  logLevel?: string;
  /** result() skips the clock to the next timer whenever nothing is running (default true). */
  timeSkipping?: boolean;
}

export interface WorkResult {
  state: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  output: unknown;
  error: unknown;
}

export interface TestEvent {
  /** The key a `ctx.waitFor({ match })` waits for, e.g. `github:1347`. */
  correlationKey: string;
  payload: unknown;
  /** The event's source name (default `test`). */
  source?: string;
  /** Its delivery id: the same id twice is one event (default: a fresh one). */
  deliveryId?: string;
}

export interface TestEnv {
  readonly config: AppConfig;
  readonly app: INestApplicationContext;
  readonly clock: SkippingClock;
  /** Starts a work; resolves with its id once it is recorded (not finished). */
  start(kind: string, input: unknown, opts?: { idempotencyKey?: string }): Promise<string>;
  /** Waits for the work to end, skipping time past its timers while nothing runs. */
  result(workId: string, opts?: { timeoutMs?: number }): Promise<WorkResult>;
  /** Answers the work's open ask or waitFor (the first, or `waitId`), as an operator would. */
  signal(workId: string, value: unknown, waitId?: string): Promise<void>;
  /** Ingests an event carrying a correlation key, as a webhook delivery would arrive. */
  sendEvent(event: TestEvent): Promise<IngestResult>;
  /** Moves the clock on once nothing runs, and fires every timer that fell due. */
  advance(duration: Duration): Promise<void>;
  /** Resolves once no work is running or due to run. */
  idle(timeoutMs?: number): Promise<void>;
  /** Stops the worker, drops the schema and deletes the Redis keys. */
  close(): Promise<void>;
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const POLL_MS = 10;

/**
 * A worker in the test's own process, against a real PostgreSQL (a schema of its own)
 * and Redis (a key prefix of its own), with a clock the test moves: the way Temporal's
 * time-skipping test environment feels. Time only skips while no work runs, so a lease
 * or a step in flight never sees the jump (a running step's lease would expire).
 */
export async function createTestEnv(options: TestEnvOptions): Promise<TestEnv> {
  const tag = randomBytes(5).toString('hex');
  const schema = `wgtest_${tag}`;
  const prefix = `wgtest-${tag}`;
  // The test kit is the one place that reads process.env itself: it stands in for the
  // user's own configuration, which a worker would parse with loadConfig.
  // eslint-disable-next-line no-restricted-properties -- the user's test has no config of ours
  const env = process.env;
  const databaseUrl =
    options.databaseUrl ?? env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const redisUrl = options.redisUrl ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  // Tools are registered process-wide: a second environment in the same test file (or a
  // re-created one) finds them already there. Before the schema exists: a refused tool
  // leaves nothing to drop.
  for (const tool of options.tools ?? []) if (!userTools.get(tool.name)) registerTool(tool);
  await runMigrations({ connectionString: databaseUrl, schema });
  const config = testConfig(options, {
    DATABASE_URL: databaseUrl,
    WORKGATE_DB_SCHEMA: schema,
    REDIS_URL: redisUrl,
    WORKGATE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: env.LOG_LEVEL ?? options.logLevel ?? 'silent',
  });
  const clock = new SkippingClock();
  configureAgent(config.agent);
  let app: INestApplicationContext;
  try {
    app = await startWorkerApp({
      config,
      logger: createLogger(config, 'worker'),
      workflows: options.workflows,
      clock,
    });
  } catch (err) {
    await dropEverything(databaseUrl, schema, redisUrl, prefix);
    throw err;
  }
  const control = app.get(EngineControl);
  const ingest = app.get(IngestService);
  const pool = app.get(LedgerDatabase).pool;
  const dispatcher = app.get<WorkDispatcher>(WORK_DISPATCHER);

  const { idle, advance, result } = clockDriver(
    pool,
    dispatcher,
    clock,
    options.timeSkipping ?? true,
  );

  return {
    config,
    app,
    clock,
    async start(kind, input, opts = {}) {
      const started = await control.start(kind, input, {
        actor: 'test',
        idempotencyKey: opts.idempotencyKey,
      });
      if (!started.workId) throw new Error(`${kind} did not start: ${started.reason}`);
      return started.workId;
    },
    result,
    async signal(workId, value, waitId) {
      await control.signal(workId, value, 'operator:test', waitId);
    },
    sendEvent: (event) => ingestTestEvent(ingest, event),
    advance,
    idle,
    async close() {
      await app.close();
      await dropEverything(databaseUrl, schema, redisUrl, prefix);
    },
  };
}

async function dropEverything(
  databaseUrl: string,
  schema: string,
  redisUrl: string,
  prefix: string,
): Promise<void> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await pg.end();
  }
  // Only this environment's keys: never FLUSHDB, the Redis may be shared.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * How the test moves time: idle() waits for no work running, advance() jumps the clock
 * and fires the timers that fell due, result() waits for a terminal state, skipping to
 * the next timer whenever the work waits and nothing else runs.
 */
function clockDriver(
  pool: LedgerDatabase['pool'],
  dispatcher: WorkDispatcher,
  clock: SkippingClock,
  timeSkipping: boolean,
): Pick<TestEnv, 'idle' | 'advance' | 'result'> {
  async function busy(): Promise<boolean> {
    // A retry's backoff (QUEUED with a runAfter) is not skipped: its delayed job holds
    // the run's job id, so only real time releases it.
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Work" WHERE state IN ('RUNNING', 'QUEUED')`,
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async function idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (await busy()) {
      if (Date.now() > deadline) throw new Error(`works still running after ${timeoutMs} ms`);
      await delay(POLL_MS);
    }
  }

  /**
   * What the delayed BullMQ jobs would do when their time came, done now: the wake job
   * for every wait whose timeoutAt passed on this clock. Re-dispatched with `replace`,
   * the delayed job already there is moved to now rather than duplicated.
   */
  async function fireDue(): Promise<void> {
    const now = new Date(clock.now());
    const waits = await pool.query<{ id: string; escalationRung: number }>(
      `SELECT id, "escalationRung" FROM "Wait" WHERE status = 'open' AND "timeoutAt" <= $1 ORDER BY "timeoutAt"`,
      [now],
    );
    await dispatcher.dispatch(
      waits.rows.map((w) => ({
        type: 'wait-timer' as const,
        waitId: w.id,
        rung: w.escalationRung,
        at: now.getTime(),
        replace: true,
      })),
    );
  }

  /** When the earliest open wait's timer is due. */
  async function nextDue(): Promise<number | null> {
    const { rows } = await pool.query<{ at: Date | null }>(
      `SELECT min("timeoutAt") AS at FROM "Wait" WHERE status = 'open'`,
    );
    return rows[0]?.at?.getTime() ?? null;
  }

  async function advance(duration: Duration): Promise<void> {
    const ms = parseDurationMs(duration);
    if (ms === undefined) throw new RangeError(`not a duration: ${JSON.stringify(duration)}`);
    await idle();
    clock.advance(ms);
    await fireDue();
  }

  async function result(workId: string, opts: { timeoutMs?: number } = {}): Promise<WorkResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await pool.query<{ state: string; output: unknown; error: unknown }>(
        'SELECT state, output, error FROM "Work" WHERE id = $1',
        [workId],
      );
      const work = rows[0];
      if (!work) throw new Error(`no work ${workId}`);
      if (TERMINAL.has(work.state)) return work as WorkResult;
      if (Date.now() > deadline)
        throw new Error(`work ${workId} still ${work.state} after ${timeoutMs} ms`);
      if (timeSkipping && work.state === 'WAITING' && !(await busy())) {
        const at = await nextDue();
        if (at !== null) {
          clock.advance(Math.max(0, at - clock.now()));
          await fireDue();
        }
      }
      await delay(POLL_MS);
    }
  }

  return { idle, advance, result };
}

/** The worker's configuration: the test's schema and key prefix, no config file. */
function testConfig(options: TestEnvOptions, env: Record<string, string>): AppConfig {
  return loadConfig({
    env: { NODE_ENV: 'test', WORKER_METRICS_PORT: '0', ...env },
    path: null,
    overrides: options.config,
  });
}

/** A test event ingested as a webhook delivery carrying its correlation key would be. */
function ingestTestEvent(ingest: IngestService, event: TestEvent): Promise<IngestResult> {
  const source = event.source ?? 'test';
  return ingest.ingest({
    channel: 'webhook',
    source,
    externalId: scopedExternalId(source, event.deliveryId ?? randomBytes(8).toString('hex')),
    conversationKey: `webhook:${event.correlationKey}`,
    correlationKey: event.correlationKey,
    actor: { id: `webhook:${source}` },
    raw: event.payload,
    body: { source, correlationKey: event.correlationKey, payload: event.payload },
    answer: event.payload,
    reference: null,
    command: null,
    route: { openKind: null, busyPolicy: 'inbox', collectWindowMs: 0 },
  });
}
