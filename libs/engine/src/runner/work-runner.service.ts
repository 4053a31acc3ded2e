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
import { LeaseService, WORK_DISPATCHER, type WorkDispatcher } from '@app/ledger';
import { METRICS, type MetricsPort, NOOP_METRICS } from '@app/observability';
import { OnJob } from '../jobs/on-job.decorator';
import { nudgeChannel, runWorkJob, type RunWorkPayload } from '../queues/job-catalog';
import { createRedis, type RedisClient } from '../queues/redis-connection';
import { WorkflowRegistry } from '../workflow/workflow-registry';
import { WorkflowRun } from '../workflow/workflow-run';
import {
  CancelRequested,
  ChildWorkError,
  DeterminismError,
  InterruptRequested,
  LeaseLostError,
  NonRetryableError,
  Suspend,
  WorkerStopping,
  serializeError,
} from '../workflow/workflow.errors';
import { type RunHandle, RunStore } from './run-store';

/**
 * How long the end of a run waits for ctx calls still under way (WorkflowRun.drain):
 * long enough for steps that honour their abort signal, short enough that a step that
 * never settles does not hold the work (it runs again on the next run, as after a crash).
 */
const DRAIN_MS = 10_000;

export type RunOutcome =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'completed' | 'suspended' | 'failed' | 'lease_lost' | 'released'; detail?: string };

/**
 * Runs one work until it completes, suspends at a wait, fails, or loses its lease:
 * claim → load the record → execute the workflow function against it → finish.
 * The lease is renewed every lease/3 while the run lasts.
 */
@Injectable()
export class WorkRunner implements OnModuleInit, OnApplicationShutdown {
  readonly workerId: string;
  private readonly active = new Map<string, AbortController>();
  /** Each active run's heartbeat, to run at once when its work is nudged. */
  private readonly beats = new Map<string, () => void>();
  private nudges?: RedisClient;
  private stopping = false;

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
    return this.run(payload.workId, payload.runSeq);
  }

  async run(workId: string, runSeq?: number): Promise<RunOutcome> {
    if (this.stopping) return { outcome: 'skipped', reason: 'worker stopping' };
    const leaseMs = this.config.worker.lease;
    const claim = await this.store.claim(workId, this.workerId, leaseMs);
    if (!claim.ok) {
      if (claim.code === 'not_due' && claim.runAfter !== null) {
        // A run job that came before the backoff ended goes back until then.
        await this.dispatcher.dispatch([
          { type: 'run', workId, runSeq: runSeq ?? 1, at: claim.runAfter },
        ]);
      }
      this.logger.debug({ workId, runSeq, reason: claim.reason }, 'run skipped');
      return { outcome: 'skipped', reason: claim.reason };
    }
    const handle: RunHandle = {
      workId,
      token: claim.token,
      workerId: this.workerId,
      known: claim.work,
    };
    const log = this.logger.child({
      workId,
      // The event the work came from (a child's source is its parent work, not an event).
      eventId: claim.work.sourceType === 'child' ? undefined : (claim.work.sourceId ?? undefined),
      kind: claim.work.kind,
      attempt: claim.work.attempt,
      runSeq: claim.work.runSeq,
    });
    const abort = new AbortController();
    this.active.set(workId, abort);
    const beat = () => {
      this.leases.heartbeat(workId, claim.token, leaseMs).then(
        ({ held, cancelRequested, interruptRequested }) => {
          if (!held) abort.abort(new LeaseLostError(workId));
          else if (cancelRequested && !abort.signal.aborted) abort.abort(new CancelRequested());
          else if (interruptRequested && !abort.signal.aborted)
            abort.abort(new InterruptRequested());
        },
        (err: Error) =>
          log.warn({ err: err.message }, 'heartbeat failed; retrying at the next beat'),
      );
    };
    this.beats.set(workId, beat);
    const heartbeat = setInterval(beat, Math.max(50, Math.floor(leaseMs / 3)));
    log.info('run started');
    let ctx: WorkflowRun | undefined;
    try {
      const loaded = claim;
      const definition = this.registry.get(loaded.work.kind);
      if (!definition) {
        throw new NonRetryableError(
          `no workflow named "${loaded.work.kind}" is registered in this worker (have: ${this.registry.names().join(', ') || 'none'})`,
          'unknown_workflow',
        );
      }
      await this.store.syncRetryPolicy(
        handle,
        loaded.work.retryPolicy,
        this.registry.retryPolicy(loaded.work.kind),
      );
      let input: unknown = loaded.work.input;
      if (definition.options.input) {
        const parsed = definition.options.input.safeParse(input);
        if (!parsed.success)
          throw new NonRetryableError(
            `the work's input does not match the workflow's schema: ${parsed.error.message}`,
            'invalid_input',
          );
        input = parsed.data;
      }
      ctx = new WorkflowRun(
        {
          store: this.store,
          clock: this.clock,
          ids: this.ids,
          logger: log,
          renewLease: () => this.leases.renew(workId, claim.token, leaseMs),
          retryPolicyFor: (kind) => this.registry.retryPolicy(kind),
          metrics: this.metrics,
        },
        handle,
        loaded.work,
        input,
        new Map(loaded.steps.map((s) => [s.seq, s])),
        abort.signal,
        log,
      );
      const output = await this.withRunTimeout(
        definition.fn(ctx, input),
        definition.options.runTimeout,
        abort,
      );
      await ctx.drain(DRAIN_MS);
      ctx.assertReplayComplete();
      assertJson(output);
      await this.store.complete(handle, output ?? null);
      log.info(ctx.currentStep ?? {}, 'work completed');
      return { outcome: 'completed' };
    } catch (err) {
      // Steps a rejected Promise.all left running are recorded before the run ends.
      await ctx?.drain(DRAIN_MS);
      // A determinism violation the workflow code caught, then threw something else
      // after (or was cut short by): the violation is what the work fails with.
      const violation = ctx?.determinismViolation;
      const cause = violation && !(err instanceof LeaseLostError) ? violation : err;
      // Where the run stopped (the step that suspended, failed or was cut short) on every line after.
      const at = ctx?.currentStep;
      return this.finishWithError(cause, handle, abort, at ? log.child(at) : log);
    } finally {
      clearInterval(heartbeat);
      this.active.delete(workId);
      this.beats.delete(workId);
    }
  }

  private async finishWithError(
    thrown: unknown,
    handle: RunHandle,
    abort: AbortController,
    log: Logger,
  ): Promise<RunOutcome> {
    let err = thrown;
    // The last completed step's checkpoint may still be on its way (RunStore.completeStep).
    // It is written before anything else, and may itself end the run: a pause or cancel
    // that landed at that step's boundary (Suspend), or a lost lease.
    try {
      await this.store.settle(handle);
    } catch (settleErr) {
      if (!(settleErr instanceof Suspend || settleErr instanceof LeaseLostError)) throw settleErr;
      err = settleErr;
    }
    if (err instanceof Suspend) {
      log.info({ reason: err.reason }, 'run suspended');
      return { outcome: 'suspended', detail: err.reason };
    }
    if (err instanceof LeaseLostError || abort.signal.reason instanceof LeaseLostError) {
      log.warn('lease lost; this run stops without writing');
      return { outcome: 'lease_lost' };
    }
    if (abort.signal.reason instanceof InterruptRequested) {
      // The `interrupt` busy policy: a message arrived for this busy work. The run
      // stops here and starts again from its last inbox read, which now holds it.
      const fromSeq = await this.store.restartForInterrupt(handle);
      log.info({ fromSeq }, 'interrupted by a new message; restarting');
      return { outcome: 'released', detail: 'interrupted' };
    }
    if (err instanceof WorkerStopping || abort.signal.reason instanceof WorkerStopping) {
      await this.store.release(handle);
      log.info('released the work for another worker (shutdown)');
      return { outcome: 'released' };
    }
    const error = serializeError(err);
    // A child's failure is a recorded step result: a retry replays the same ChildWorkError
    // (the child is not started again), so retrying would only wait out backoffs.
    const retryable = !(
      err instanceof NonRetryableError ||
      err instanceof DeterminismError ||
      err instanceof ChildWorkError
    );
    try {
      const state = await this.store.fail(handle, error, retryable, this.ids.random());
      log.warn(
        { err: error.message, code: error.code, state },
        state === 'QUEUED' ? 'run failed; retry scheduled' : `run failed; work ${state}`,
      );
      return { outcome: 'failed', detail: state };
    } catch (failErr) {
      if (failErr instanceof LeaseLostError) return { outcome: 'lease_lost' };
      throw failErr;
    }
  }

  private async withRunTimeout<T>(
    promise: Promise<T>,
    runTimeout: string | number | undefined,
    abort: AbortController,
  ): Promise<T> {
    if (runTimeout === undefined) return promise;
    const ms = parseDurationMs(runTimeout) ?? 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = Object.assign(new Error(`the run took longer than ${ms} ms`), {
              code: 'run_timeout',
            });
            abort.abort(error);
            reject(error);
          }, ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops taking runs; running ones stop at their next boundary and give their work back. */
  onApplicationShutdown(): void {
    this.nudges?.disconnect();
    this.stopping = true;
    for (const abort of this.active.values()) abort.abort(new WorkerStopping());
  }

  get activeRuns(): number {
    return this.active.size;
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
