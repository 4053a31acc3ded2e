import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import {
  CLOCK,
  type Clock,
  ID_GENERATOR,
  type IdGenerator,
  parseDurationMs,
  toJsonbText,
} from '@app/core';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger, redisTargetOf } from '@app/config';
import { LeaseService, WORK_DISPATCHER, type WorkDispatcher, type WorkRow } from '@app/ledger';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { OnJob } from '../jobs/on-job.decorator';
import { nudgeChannel, runWorkJob, type RunWorkPayload } from '../queues/job-catalog';
import { createRedis, type RedisClient } from '../queues/redis-connection';
import { BATCH_DEFAULTS, type WorkflowDefinition } from '../workflow/define-workflow';
import { type RunDurability } from '../workflow/run-scope';
import { WorkflowRegistry } from '../workflow/workflow-registry';
import { WorkflowRun } from '../workflow/workflow-run';
import { LeaseLostError, NonRetryableError, WorkerStopping } from '../workflow/workflow.errors';
import { finishWithError, type RunOutcome } from './run-ending';
import { keepLease } from './run-lease';
import { type RunClaim, type RunHandle } from './run-resources';
import { RunStore } from './run-store';
import { withRunTimeout } from './run-timeout.util';

export type { RunOutcome } from './run-ending';

/**
 * How long the end of a run waits for ctx calls still under way (WorkflowRun.drain):
 * long enough for steps that honour their abort signal, short enough that a step that
 * never settles does not hold the work (it runs again on the next run, as after a crash).
 */
const DRAIN_MS = 10_000;

export type Claimed = Extract<RunClaim, { ok: true }>;

/** A run under way in this process: what a shutdown needs to stop it or give its work back. */
interface ActiveRun {
  abort: AbortController;
  handle: RunHandle;
  ended: Promise<void>;
}

/** How a drain ended: runs that stopped at a boundary, after their steps were aborted, or released by force. */
export interface DrainResult {
  atBoundary: number;
  afterAbort: number;
  forced: number;
}

/**
 * Runs one work until it completes, suspends at a wait, fails, or loses its lease:
 * claim → load the record → execute the workflow function against it → finish.
 * The lease is renewed every lease/3 while the run lasts (keepLease).
 */
@Injectable()
export class WorkRunner implements OnModuleInit, OnApplicationShutdown {
  readonly workerId: string;
  private readonly active = new Map<string, ActiveRun>();
  /**
   * Aborted when the worker drains (WorkerShutdown): every run, and every run started
   * after, stops at its next step boundary and releases its work (WorkflowRun.next).
   */
  private readonly boundaryStop = new AbortController();
  /** Each active run's heartbeat, to run at once when its work is nudged. */
  private readonly beats = new Map<string, () => void>();
  private nudges?: RedisClient;
  private stopping = false;
  /** Slots held by wake jobs between reserveSlot() and their run's start (or their release). */
  private reserved = 0;

  constructor(
    private readonly store: RunStore,
    private readonly leases: LeaseService,
    private readonly registry: WorkflowRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    @Optional() @Inject(METRICS) private readonly metrics: MetricsPort = NOOP_METRICS,
  ) {
    this.workerId = config.env.WORKER_ID ?? `${hostname()}:${process.pid}`;
  }

  /**
   * Nudges (a cancel or an interrupt requested for a work, published after its commit):
   * the run holding that work here beats at once and so reads the request now rather
   * than up to lease/3 later. A subscriber needs a connection of its own.
   */
  onModuleInit(): void {
    this.nudges = createRedis(redisTargetOf(this.config), 'worker');
    this.nudges.on('message', (_channel: string, workId: string) => this.beats.get(workId)?.());
    // Not awaited: with Redis down the worker still starts (its queues wait for Redis
    // anyway), and ioredis subscribes again after every reconnect.
    this.nudges
      .subscribe(nudgeChannel(this.config.env.WORKGATE_QUEUE_PREFIX))
      .catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'nudge subscription failed; heartbeats only'),
      );
  }

  @OnJob(runWorkJob)
  async handleRunWork(payload: RunWorkPayload): Promise<RunOutcome> {
    return this.run(payload.workId, payload.runSeq, undefined, payload.asCreated);
  }

  /**
   * A run slot for a wake job that wants to fire its timer and claim the work in one
   * transaction (WakeService): granted while the runs under way here plus the slots held
   * stay under worker.concurrency, and never once the worker drains. The holder either
   * starts its run (runClaimed) or gives the slot back (releaseSlot).
   */
  reserveSlot(): boolean {
    const busy = this.active.size + this.reserved;
    if (this.stopping || this.boundaryStop.signal.aborted) return false;
    if (busy >= this.config.worker.concurrency) return false;
    this.reserved += 1;
    return true;
  }

  get leaseMs(): number {
    return this.config.worker.lease;
  }

  releaseSlot(): void {
    this.reserved = Math.max(0, this.reserved - 1);
  }

  /** Runs a work the wake job claimed in its fire transaction: no second read or claim. */
  runClaimed(claim: Claimed): Promise<RunOutcome> {
    this.releaseSlot();
    return this.run(claim.work.id, claim.work.runSeq, claim);
  }

  async run(
    workId: string,
    runSeq?: number,
    claimed?: Claimed,
    asCreated?: boolean,
  ): Promise<RunOutcome> {
    // A claimed work left here is RUNNING under this lease: the lease sweep requeues it.
    if (this.stopping) return { outcome: 'skipped', reason: 'worker stopping' };
    const leaseMs = this.config.worker.lease;
    const claim =
      claimed ?? (await this.store.claims.claim(workId, this.workerId, leaseMs, { asCreated }));
    if (!claim.ok) return this.skip(workId, runSeq, claim);
    const handle: RunHandle = {
      workId,
      token: claim.token,
      workerId: this.workerId,
      known: claim.work,
    };
    const log = this.runLogger(claim.work);
    const abort = new AbortController();
    let ended!: () => void;
    this.active.set(workId, { abort, handle, ended: new Promise((r) => (ended = r)) });
    const lease = keepLease({
      leases: this.leases,
      workId,
      token: claim.token,
      leaseMs,
      abort,
      log,
    });
    this.beats.set(workId, lease.beat);
    log.info('run started');
    let ctx: WorkflowRun | undefined;
    try {
      const { definition, input } = await this.prepare(claim, handle);
      ctx = this.workflowRun(claim, handle, input, abort, log, runDurability(definition));
      const output = await withRunTimeout(
        definition.fn(ctx, input),
        definition.options.runTimeout,
        abort,
      );
      await ctx.drain(DRAIN_MS);
      ctx.assertReplayComplete();
      assertJson(output);
      await this.store.ends.complete(handle, output ?? null);
      log.info(ctx.currentStep ?? {}, 'work completed');
      return { outcome: 'completed' };
    } catch (err) {
      return this.afterError(err, ctx, handle, abort, log);
    } finally {
      lease.stop();
      this.active.delete(workId);
      this.beats.delete(workId);
      ended();
    }
  }

  /** A claim refused: a run job that came before the backoff ended goes back until then. */
  private async skip(
    workId: string,
    runSeq: number | undefined,
    claim: Extract<RunClaim, { ok: false }>,
  ): Promise<RunOutcome> {
    if (claim.code === 'not_due' && claim.runAfter !== null) {
      await this.dispatcher.dispatch([
        { type: 'run', workId, runSeq: runSeq ?? 1, at: claim.runAfter },
      ]);
    }
    this.logger.debug({ workId, runSeq, reason: claim.reason }, 'run skipped');
    return { outcome: 'skipped', reason: claim.reason };
  }

  private runLogger(work: WorkRow): Logger {
    return this.logger.child({
      workId: work.id,
      // The event the work came from (a child's source is its parent work, not an event).
      eventId: work.sourceType === 'child' ? undefined : (work.sourceId ?? undefined),
      kind: work.kind,
      attempt: work.attempt,
      runSeq: work.runSeq,
    });
  }

  /** The work's workflow and its input, checked; its retry policy written when it changed. */
  private async prepare(
    claim: Claimed,
    handle: RunHandle,
  ): Promise<{ definition: WorkflowDefinition; input: unknown }> {
    const definition = this.registry.get(claim.work.kind);
    if (!definition) {
      throw new NonRetryableError(
        `no workflow named "${claim.work.kind}" is registered in this worker (have: ${this.registry.names().join(', ') || 'none'})`,
        'unknown_workflow',
      );
    }
    await this.store.claims.syncRetryPolicy(
      handle,
      claim.work.retryPolicy,
      this.registry.retryPolicy(claim.work.kind),
    );
    if (!definition.options.input) return { definition, input: claim.work.input };
    const parsed = definition.options.input.safeParse(claim.work.input);
    if (!parsed.success)
      throw new NonRetryableError(
        `the work's input does not match the workflow's schema: ${parsed.error.message}`,
        'invalid_input',
      );
    return { definition, input: parsed.data };
  }

  private workflowRun(
    claim: Claimed,
    handle: RunHandle,
    input: unknown,
    abort: AbortController,
    log: Logger,
    durability: RunDurability,
  ): WorkflowRun {
    return new WorkflowRun(
      {
        store: this.store,
        clock: this.clock,
        ids: this.ids,
        logger: log,
        renewLease: () => this.leases.renew(handle.workId, claim.token, this.config.worker.lease),
        stopAtBoundary: this.boundaryStop.signal,
        retryPolicyFor: (kind) => this.registry.retryPolicy(kind),
        metrics: this.metrics,
        durability,
      },
      handle,
      claim.work,
      input,
      new Map(claim.steps.map((s) => [s.seq, s])),
      abort.signal,
      log,
    );
  }

  private async afterError(
    err: unknown,
    ctx: WorkflowRun | undefined,
    handle: RunHandle,
    abort: AbortController,
    log: Logger,
  ): Promise<RunOutcome> {
    // Steps a rejected Promise.all left running are recorded before the run ends.
    await ctx?.drain(DRAIN_MS);
    // A determinism violation the workflow code caught, then threw something else
    // after (or was cut short by): the violation is what the work fails with.
    const violation = ctx?.determinismViolation;
    const cause = violation && !(err instanceof LeaseLostError) ? violation : err;
    // Where the run stopped (the step that suspended, failed or was cut short) on every line after.
    const at = ctx?.currentStep;
    return finishWithError(
      { store: this.store, ids: this.ids },
      cause,
      handle,
      abort,
      at ? log.child(at) : log,
    );
  }

  /**
   * A rolling restart's part of the runner (WorkerShutdown calls it once the queues stop
   * handing out jobs): every run stops at its next step boundary and releases its work,
   * which goes back on the queue at once for another worker (not after the lease). Runs
   * still going after `boundaryMs` have their steps aborted (a step that honours its
   * signal ends; its work runs again elsewhere with the same idempotency key); runs still
   * going `abortMs` later are released from here, fenced on their lease token, so the
   * step that ignored its signal cannot land a write after another worker took over.
   */
  async drain(boundaryMs: number, abortMs: number): Promise<DrainResult> {
    this.boundaryStop.abort(new WorkerStopping());
    const initial = this.active.size;
    this.logger.info({ runs: initial, boundaryMs }, 'draining: runs stop at their next step');
    if (await this.allEnded(boundaryMs)) return { atBoundary: initial, afterAbort: 0, forced: 0 };
    const cut = this.active.size;
    this.logger.warn({ runs: cut }, 'runs did not reach a step boundary in time; aborting steps');
    for (const run of this.active.values()) run.abort.abort(new WorkerStopping());
    if (await this.allEnded(abortMs))
      return { atBoundary: initial - cut, afterAbort: cut, forced: 0 };
    const left = [...this.active.values()];
    await Promise.all(
      left.map(({ handle }) =>
        this.store.ends.release(handle).then(
          () => this.logger.warn({ workId: handle.workId }, 'released a run that did not stop'),
          (err: Error) =>
            this.logger.error(
              { workId: handle.workId, err: err.message },
              'could not release a run that did not stop; its lease will expire',
            ),
        ),
      ),
    );
    return { atBoundary: initial - cut, afterAbort: cut - left.length, forced: left.length };
  }

  /** True when every run under way has ended within `ms` (runs started meanwhile included). */
  private async allEnded(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.active.size) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const ended = Promise.all([...this.active.values()].map((r) => r.ended));
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      const outcome = await Promise.race([ended, timedOut]).finally(() => clearTimeout(timer));
      if (outcome === 'timeout') return this.active.size === 0;
    }
    return true;
  }

  /**
   * The backstop when the app closes without a drain (or after one): no more runs, and
   * any still going stop now and give their work back.
   */
  onApplicationShutdown(): void {
    this.nudges?.disconnect();
    this.stopping = true;
    for (const run of this.active.values()) run.abort.abort(new WorkerStopping());
  }
}

function assertJson(value: unknown): void {
  const stored = toJsonbText(value);
  if (!stored.ok)
    throw new NonRetryableError(
      `the workflow's result cannot be recorded: it ${stored.problem}`,
      'invalid_output',
    );
}

/** The workflow's durability options, with the batch limits' defaults. */
function runDurability(definition: WorkflowDefinition): RunDurability {
  const { durability, batch } = definition.options;
  return {
    mode: durability ?? 'step',
    maxSteps: batch?.maxSteps ?? BATCH_DEFAULTS.maxSteps,
    maxDelayMs:
      batch?.maxDelay !== undefined
        ? (parseDurationMs(batch.maxDelay) ?? BATCH_DEFAULTS.maxDelayMs)
        : BATCH_DEFAULTS.maxDelayMs,
  };
}
