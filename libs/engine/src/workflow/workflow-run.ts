import { createHash } from 'node:crypto';
import { type Logger } from 'pino';
import {
  type Clock,
  conversationKeyOf,
  decideRetry,
  type EscalationRung,
  type IdGenerator,
  normalizeRetryPolicy,
  parseDurationMs,
  type RetryPolicy,
  stringProblem,
  toJsonbText,
  unwrapStepOutput,
} from '@app/core';
import { type StepRow, type StepType, type WorkRow } from '@app/ledger';
import { type MetricsPort } from '@app/observability';
import { type RunHandle, type WaitSpec } from '../runner/run-resources';
import { type RunStore } from '../runner/run-store';
import { messageParts } from './message-parts.util';
import {
  ChildWorkError,
  DeterminismError,
  InterruptRequested,
  LeaseLostError,
  ModelError,
  NonRetryableError,
  StepTimeoutError,
  Suspend,
  WorkerStopping,
  serializeError,
} from './workflow.errors';
import {
  type Address,
  type AskOptions,
  type Duration,
  type EscalationStep,
  type InboxEvent,
  type LlmOptions,
  type LlmRequest,
  type LlmResponse,
  type OutboundMessageBody,
  type StepContext,
  type StepOptions,
  type WaitForOptions,
  type WorkflowContext,
  type WorkOrigin,
} from './workflow.types';

export interface RunDeps {
  store: RunStore;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Renews the lease now; false when it was lost. */
  renewLease: () => Promise<boolean>;
  retryPolicyFor: (kind: string) => RetryPolicy;
  /** Step durations go to workgate_step_duration_seconds. */
  metrics?: MetricsPort;
}

function durationMs(value: Duration, what: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new NonRetryableError(`${what}: not a duration: ${String(value)}`, 'invalid_duration');
  return ms;
}

/** The escalation ladder as stored (relative ms), from the workflow's declaration. */
export function toLadder<T>(
  opts: Pick<AskOptions<T>, 'escalation' | 'timeout' | 'onTimeout' | 'default'>,
): EscalationRung[] {
  const steps: EscalationStep[] =
    opts.escalation ??
    (opts.timeout !== undefined
      ? [
          opts.onTimeout === 'default'
            ? { after: opts.timeout, action: 'default', value: opts.default ?? null }
            : { after: opts.timeout, action: 'fail' },
        ]
      : []);
  let last = -1;
  return steps.map((s, i) => {
    const afterMs = durationMs(s.after, `escalation rung ${i + 1}`);
    if (afterMs <= last)
      throw new NonRetryableError(
        `escalation rungs must come later one after another (rung ${i + 1})`,
        'invalid_escalation',
      );
    last = afterMs;
    switch (s.action) {
      case 'remind':
        return { afterMs, action: 'remind' };
      case 'escalate':
        return { afterMs, action: 'escalate', target: JSON.stringify(s.to) };
      case 'default':
        return { afterMs, action: 'default', value: s.value };
      case 'fail':
        return { afterMs, action: 'fail' };
    }
  });
}

/**
 * One run of one work: the WorkflowContext the workflow function receives. Each ctx
 * call takes the next sequence number and either returns what the record holds for
 * it, or does the thing and records it. A record with a different name or kind at that
 * position is a determinism error, never silent drift.
 */
export class WorkflowRun implements WorkflowContext {
  private seq = 0;
  /**
   * The first determinism violation of this run. Sticky: workflow code may catch the
   * error (a "best effort" try/catch around a step), but every later ctx call throws it
   * again and the runner fails the work with it, so drift is never silently absorbed.
   */
  private violation: DeterminismError | undefined;
  private current: { step: string; seq: number } | undefined;
  /**
   * The ctx calls under way that record without suspending (steps, model calls,
   * messages, recorded values): a wait waits for them before it suspends the run, and
   * the run's end waits for them (drain), so a step run side by side with a wait, or
   * left behind by a Promise.all that rejected, is still recorded.
   */
  private readonly underway = new Set<Promise<unknown>>();
  /** Set once the workflow function has settled: no ctx call may start after it. */
  private ended = false;
  readonly origin: WorkOrigin;

  constructor(
    private readonly deps: RunDeps,
    private readonly run: RunHandle,
    private readonly work: WorkRow,
    readonly input: unknown,
    private readonly record: Map<number, StepRow>,
    private readonly signal: AbortSignal,
    readonly log: Logger,
  ) {
    this.origin = {
      channel: work.sourceType,
      conversationKey: work.conversationKey,
      eventId: work.sourceId,
      address: work.replyAddress ?? null,
    };
  }

  get workId() {
    return this.work.id;
  }
  get kind() {
    return this.work.kind;
  }
  get attempt() {
    return this.work.attempt;
  }

  /** The last sequence number used (for tests and logs). */
  get position() {
    return this.seq;
  }

  /** The ctx call the run reached last, for the runner's log lines (`{ step, seq }`). */
  get currentStep(): { step: string; seq: number } | undefined {
    return this.current;
  }

  private next(name: string, type: StepType): { seq: number; recorded: StepRow | undefined } {
    // Between steps is where an aborted run ends: a lost lease, a stopping worker, and
    // also a cancel or the run's timeout that landed between two steps. The run's signal
    // aborts once, so a step started after it would never hear of it.
    if (this.signal.aborted) throw this.abortReason();
    if (this.violation) throw this.violation;
    if (this.ended)
      throw new NonRetryableError(
        `ctx call "${name}" after the workflow function had returned (a step not awaited?)`,
        'ctx_after_end',
      );
    // The name goes to a text column, where PostgreSQL refuses a NUL (for every run
    // sharing the statement) and an unpaired surrogate comes back as U+FFFD — a name the
    // replay would not match.
    const bad = stringProblem(name);
    if (bad)
      throw new NonRetryableError(
        `step name ${JSON.stringify(name)} holds ${bad}, which cannot be recorded`,
        'invalid_step_name',
      );
    const seq = ++this.seq;
    this.current = { step: name, seq };
    const recorded = this.record.get(seq);
    if (recorded && (recorded.name !== name || recorded.type !== type)) {
      this.violation = new DeterminismError(
        seq,
        { name: recorded.name, type: recorded.type },
        { name, type },
      );
      throw this.violation;
    }
    return { seq, recorded };
  }

  /**
   * Called when the workflow function has returned: a violation it caught, or a
   * recorded step it never reached (the code now ends earlier), fails the work.
   */
  assertReplayComplete(): void {
    if (this.violation) throw this.violation;
    const unvisited = [...this.record.values()]
      .filter((s) => s.seq > this.seq)
      .sort((a, b) => a.seq - b.seq)[0];
    if (unvisited) {
      this.violation = new DeterminismError(
        unvisited.seq,
        { name: unvisited.name, type: unvisited.type },
        null,
      );
      throw this.violation;
    }
  }

  /** The violation this run hit, if any (it wins over whatever error the code threw after it). */
  get determinismViolation(): DeterminismError | undefined {
    return this.violation;
  }

  /** `call` counted as under way until it settles (see `underway`). */
  private underwayUntilSettled<T>(call: Promise<T>): Promise<T> {
    this.underway.add(call);
    const done = () => this.underway.delete(call);
    call.then(done, done);
    return call;
  }

  /**
   * Before a wait suspends the run: the calls under way side by side with it (the
   * other members of a Promise.all, all started in this same turn) finish and are
   * recorded first — their checkpoints are written before the wait (CheckpointSystem.settle) —
   * rather than being cut off by the suspension and run again on the next run.
   */
  private async quiesce(name: string): Promise<void> {
    await Promise.resolve(); // the rest of a Promise.all's members are called by now
    while (this.underway.size) await Promise.allSettled([...this.underway]);
    if (this.ended)
      throw new NonRetryableError(
        `"${name}" was not opened: the workflow function had already ended`,
        'ctx_after_end',
      );
  }

  /**
   * Called once the workflow function has settled, before the run is finished: waits
   * (at most `limitMs`) for the calls still under way — steps a rejected Promise.all
   * left behind, or a step not awaited — so their results are recorded rather than
   * left `running`. None may start after this.
   */
  async drain(limitMs: number): Promise<void> {
    this.ended = true;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
    try {
      while (this.underway.size)
        await Promise.race([Promise.allSettled([...this.underway]), limit.then(() => 'late')]).then(
          (r) => {
            if (r === 'late') this.underway.clear();
          },
        );
    } finally {
      clearTimeout(timer);
    }
  }

  step<T>(
    name: string,
    fn: (step: StepContext) => Promise<T> | T,
    options: StepOptions = {},
  ): Promise<T> {
    return this.underwayUntilSettled(this.runStep(name, fn, options));
  }

  private async runStep<T>(
    name: string,
    fn: (step: StepContext) => Promise<T> | T,
    options: StepOptions,
  ): Promise<T> {
    const { seq, recorded } = this.next(name, 'task');
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
    const policy = options.retry
      ? normalizeRetryPolicy({ maxAttempts: 1, ...options.retry })
      : undefined;
    const timeoutMs =
      options.timeout !== undefined
        ? durationMs(options.timeout, `step "${name}" timeout`)
        : undefined;
    let row = await this.deps.store.steps.start(this.run, seq, name, 'task', recorded);
    for (let inline = 1; ; inline++) {
      // `attempt` stays the work's attempt (the run logger's binding); the step's own is stepAttempt.
      const log = this.log.child({ step: name, seq, stepAttempt: row.attempt });
      const started = performance.now();
      const observe = (outcome: 'completed' | 'failed') =>
        this.deps.metrics?.stepFinished(
          { kind: this.work.kind, name, outcome },
          (performance.now() - started) / 1000,
        );
      log.debug('step started');
      try {
        const value = await this.execute(row, fn, name, timeoutMs);
        await this.deps.store.checkpoints.completeStep(this.run, row, value);
        observe('completed');
        log.debug({ ms: Math.round(performance.now() - started) }, 'step completed');
        return value;
      } catch (err) {
        this.rethrowIfRunEnded(err);
        const code = (err as { code?: unknown }).code;
        // A step cut short by a cancel or the run's timeout is not retried inline: the
        // run is ending, and the spent signal would not abort the next attempt.
        const decision =
          policy && !(err instanceof NonRetryableError) && !this.signal.aborted
            ? decideRetry(
                policy,
                inline,
                typeof code === 'string' ? code : (err as Error).name,
                this.deps.ids.random(),
              )
            : undefined;
        observe('failed');
        log.warn({ err: (err as Error).message, retry: decision?.retry ?? false }, 'step failed');
        if (decision?.retry) {
          await this.pause(decision.delayMs);
          row = await this.deps.store.steps.start(this.run, seq, name, 'task', row);
          continue;
        }
        await this.deps.store.steps.fail(this.run, row.id, serializeError(err));
        throw err;
      }
    }
  }

  private async execute<T>(
    row: StepRow,
    fn: (step: StepContext) => Promise<T> | T,
    name: string,
    timeoutMs: number | undefined,
  ): Promise<T> {
    // Aborted while the step was being recorded: the listener below would never fire.
    if (this.signal.aborted) throw this.abortReason();
    const controller = new AbortController();
    const onAbort = () => controller.abort(this.signal.reason);
    this.signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const context: StepContext = {
        idempotencyKey: row.idempotencyKey,
        attempt: row.attempt,
        signal: controller.signal,
        heartbeat: async () => {
          if (!(await this.deps.renewLease())) throw new LeaseLostError(this.work.id);
          await this.deps.store.steps.heartbeat(row.id);
        },
      };
      const work = Promise.resolve().then(() => fn(context));
      if (timeoutMs === undefined) return await work;
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new StepTimeoutError(name, timeoutMs);
            controller.abort(error);
            reject(error);
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A suspension, a lost lease, a shutdown or an interrupt ends the run, not the step:
   * rethrown as is, so no step failure is recorded and no inline retry starts.
   */
  private rethrowIfRunEnded(err: unknown): void {
    if (err instanceof Suspend || err instanceof LeaseLostError) throw err;
    const reason: unknown = this.signal.reason;
    if (
      this.signal.aborted &&
      (reason instanceof LeaseLostError ||
        reason instanceof WorkerStopping ||
        reason instanceof InterruptRequested)
    )
      throw reason;
  }

  private abortReason(): Error {
    const reason: unknown = this.signal.reason;
    return reason instanceof Error ? reason : new Error('the run was aborted');
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      this.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  }

  /** The wait's declaration and prompt come from workflow code: checked as step outputs are. */
  private openWait(seq: number, spec: WaitSpec) {
    recordable(spec.stepName, { wait: spec.wait, prompt: spec.prompt });
    return this.deps.store.waits.openWait(this.run, seq, spec);
  }

  async sleep(duration: Duration | { until: Date | string }): Promise<void> {
    const { seq, recorded } = this.next('sleep', 'sleep');
    if (recorded?.status === 'completed') return;
    // The wake time is fixed when the sleep is first reached, and derived from the step's
    // record on every later run, so a replay never moves it.
    const base = recorded ? recorded.startedAt.getTime() : this.deps.clock.now();
    const at =
      typeof duration === 'object' && 'until' in duration
        ? new Date(duration.until).getTime()
        : base + durationMs(duration, 'sleep');
    if (Number.isNaN(at))
      throw new NonRetryableError(
        `sleep: not a time: ${JSON.stringify(duration)}`,
        'invalid_duration',
      );
    if (at <= this.deps.clock.now() && !recorded) {
      // Already due: nothing to wait for, but the position is still recorded.
      await this.underwayUntilSettled(this.deps.store.recorded.recordSleep(this.run, seq));
      return;
    }
    await this.quiesce('sleep');
    await this.openWait(seq, {
      stepName: 'sleep',
      stepType: 'sleep',
      wait: { type: 'timer', onTimeout: 'resume' },
      timerAt: at,
      restartStepId: recorded?.id,
    });
    throw new Suspend('waiting');
  }

  async waitFor<T = unknown>(options: WaitForOptions<T>): Promise<T> {
    const name = `waitFor:${options.match}`;
    const { seq, recorded } = this.next(name, 'wait');
    // A wait step that is not completed (its wait timed out and the work was retried,
    // or a rerun cancelled it) opens a fresh wait.
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
    const ladder = toLadder({
      timeout: options.timeout,
      onTimeout: options.onTimeout,
      default: options.default,
    });
    await this.quiesce(name);
    // One clock reading for the wait's opening and its first rung (later rungs are
    // computed from the wait's createdAt), so no rung is due before its time.
    const openedAt = this.deps.clock.now();
    const opened = await this.openWait(seq, {
      stepName: name,
      stepType: 'wait',
      wait: {
        type: options.type ?? 'event',
        correlationKey: options.match,
        expects: options.expects ?? null,
        onTimeout: ladder.length ? 'escalate' : 'fail',
        escalation: ladder.length ? ladder : null,
        defaultValue: options.default ?? null,
        createdAt: new Date(openedAt),
      },
      inboxCorrelationKey: options.match,
      timerAt: ladder[0] ? openedAt + ladder[0].afterMs : undefined,
      restartStepId: recorded?.id,
    });
    if (opened.satisfied) return opened.value as T;
    throw new Suspend('waiting');
  }

  async ask<T = unknown>(options: AskOptions<T>): Promise<T> {
    const { seq, recorded } = this.next('ask', 'wait');
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as T;
    const ladder = toLadder(options);
    await this.quiesce('ask');
    // Without `to`, a work opened from a chat asks in that chat.
    if (!options.to && this.origin.address) options = { ...options, to: this.origin.address };
    const conversationKey = options.to ? conversationKeyOf(options.to) : this.work.conversationKey;
    const openedAt = this.deps.clock.now(); // see waitFor
    await this.openWait(seq, {
      stepName: 'ask',
      stepType: 'wait',
      wait: {
        type: options.waitType ?? 'human',
        conversationKey,
        expects: options.expects ?? null,
        responders: options.responders ?? null,
        resumeChannel: options.to ? JSON.stringify(options.to) : null,
        onTimeout: ladder.length ? 'escalate' : 'fail',
        escalation: ladder.length ? ladder : null,
        defaultValue: options.default ?? null,
        createdAt: new Date(openedAt),
      },
      prompt: options.to
        ? {
            channel: options.to.channel,
            target: options.to.target,
            payload: {
              kind: options.plain ? 'message' : 'ask',
              text: options.text,
              expects: options.expects ?? null,
              responders: options.responders ?? null,
              ...(options.to.thread ? { thread: options.to.thread } : {}),
            },
          }
        : undefined,
      timerAt: ladder[0] ? openedAt + ladder[0].afterMs : undefined,
      restartStepId: recorded?.id,
    });
    throw new Suspend('waiting');
  }

  llm(request: LlmRequest, options: LlmOptions): Promise<LlmResponse> {
    return this.underwayUntilSettled(this.llmCall(request, options));
  }

  private async llmCall(request: LlmRequest, options: LlmOptions): Promise<LlmResponse> {
    const name = options.name ?? 'llm';
    const { seq, recorded } = this.next(name, 'llm');
    // A replay returns the recorded response: the model is never called twice for one step.
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as LlmResponse;
    const timeoutMs = durationMs(options.timeout ?? '2m', `llm "${name}" timeout`);
    const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    let row = await this.deps.store.steps.start(this.run, seq, name, 'llm', recorded);
    let req = request;
    let trimmed = 0;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const completion = await this.execute(
          row,
          ({ signal }) => options.client.complete(req, { signal }),
          name,
          timeoutMs,
        );
        const latencyMs = Math.round(performance.now() - started);
        const response: LlmResponse = {
          ...completion,
          costUsd: options.client.cost(completion.model, completion.usage),
          latencyMs,
          trimmed,
        };
        recordable(`llm step ${JSON.stringify(name)}: the model's response`, response);
        await this.deps.store.recorded.completeLlmStep(this.run, row, response, {
          provider: options.client.provider,
          promptHash: promptFingerprint(req),
        });
        this.deps.metrics?.stepFinished(
          { kind: this.work.kind, name, outcome: 'completed' },
          latencyMs / 1000,
        );
        return response;
      } catch (err) {
        this.rethrowIfRunEnded(err);
        const log = this.log.child({ step: name, seq, modelAttempt: attempt });
        if (err instanceof ModelError && !this.signal.aborted) {
          if (err.kind === 'context_length' && options.trim) {
            const shorter = options.trim(req);
            if (shorter && shorter.messages.length < req.messages.length) {
              trimmed += req.messages.length - shorter.messages.length;
              log.warn({ trimmed }, 'context too long; dropped the oldest turns');
              req = shorter;
              continue;
            }
          }
          if ((err.kind === 'rate_limit' || err.kind === 'server') && attempt < maxAttempts) {
            // The provider's retry-after wins over our backoff (capped: a day-long ask is a budget matter).
            const backoff =
              Math.min(30_000, 500 * 2 ** (attempt - 1)) * (0.5 + this.deps.ids.random() / 2);
            const delayMs = Math.min(120_000, err.retryAfterMs ?? backoff);
            log.warn(
              { err: err.message, status: err.status, delayMs },
              'model call failed; retrying',
            );
            await this.pause(delayMs);
            row = await this.deps.store.steps.start(this.run, seq, name, 'llm', row);
            continue;
          }
        }
        log.warn({ err: (err as Error).message }, 'model call failed');
        await this.deps.store.steps.fail(this.run, row.id, serializeError(err));
        if (err instanceof ModelError && (err.kind === 'fatal' || err.kind === 'context_length'))
          throw new NonRetryableError(err.message, err.code);
        throw err;
      }
    }
  }

  send(to: Address, message: OutboundMessageBody): Promise<{ outboxId: string }> {
    return this.underwayUntilSettled(this.sendCall(to, message));
  }

  private async sendCall(to: Address, message: OutboundMessageBody): Promise<{ outboxId: string }> {
    const name = `send:${to.channel}`;
    const { seq, recorded } = this.next(name, 'send');
    if (recorded?.status === 'completed')
      return unwrapStepOutput(recorded.output) as { outboxId: string };
    recordable(`${name}: the message`, { to, message });
    const payload = { kind: 'message', ...message };
    const outboxId = await this.deps.store.recorded.send(
      this.run,
      seq,
      name,
      to,
      payload,
      messageParts(to.channel, payload),
    );
    return { outboxId };
  }

  async child<T = unknown>(kind: string, input: unknown): Promise<T> {
    const name = `child:${kind}`;
    const { seq, recorded } = this.next(name, 'child');
    if (recorded?.status === 'completed') {
      const result = unwrapStepOutput(recorded.output) as {
        workId: string;
        state: string;
        output: unknown;
        error: unknown;
      };
      if (result.state !== 'COMPLETED')
        throw new ChildWorkError(result.workId, result.state, result.error);
      return result.output as T;
    }
    recordable(`${name}: the child's input`, input);
    await this.quiesce(name);
    await this.deps.store.waits.startChild(
      this.run,
      seq,
      name,
      kind,
      input,
      this.deps.retryPolicyFor(kind),
      this.work.conversationKey,
      recorded,
    );
    throw new Suspend('waiting');
  }

  inbox(): Promise<InboxEvent[]> {
    return this.underwayUntilSettled(this.inboxCall());
  }

  private async inboxCall(): Promise<InboxEvent[]> {
    const { seq, recorded } = this.next('$inbox', 'task');
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as InboxEvent[];
    return (await this.deps.store.recorded.recordValue(this.run, seq, '$inbox', (client) =>
      this.deps.store.inbox.take(client, this.work.id),
    )) as InboxEvent[];
  }

  now(): Promise<Date> {
    return this.underwayUntilSettled(this.nowCall());
  }

  private async nowCall(): Promise<Date> {
    const { seq, recorded } = this.next('$now', 'task');
    if (recorded?.status === 'completed')
      return new Date(unwrapStepOutput(recorded.output) as string);
    return new Date(
      (await this.deps.store.recorded.recordValue(this.run, seq, '$now', async () =>
        new Date(this.deps.clock.now()).toISOString(),
      )) as string,
    );
  }

  random(): Promise<number> {
    return this.underwayUntilSettled(this.randomCall());
  }

  private async randomCall(): Promise<number> {
    const { seq, recorded } = this.next('$random', 'task');
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as number;
    return (await this.deps.store.recorded.recordValue(this.run, seq, '$random', async () =>
      this.deps.ids.random(),
    )) as number;
  }

  uuid(): Promise<string> {
    return this.underwayUntilSettled(this.uuidCall());
  }

  private async uuidCall(): Promise<string> {
    const { seq, recorded } = this.next('$uuid', 'task');
    if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output) as string;
    return (await this.deps.store.recorded.recordValue(this.run, seq, '$uuid', async () =>
      this.deps.ids.uuid(),
    )) as string;
  }
}

/**
 * A value from workflow code bound for the ledger (a message, a child's input, a
 * wait's declaration, a model's response): what PostgreSQL would refuse fails the
 * call here, with the place named, instead of as a database error the work retries.
 */
function recordable(what: string, value: unknown): void {
  const stored = toJsonbText(value);
  if (!stored.ok)
    throw new NonRetryableError(
      `${what} cannot be recorded: it ${stored.problem}`,
      'unstorable_value',
    );
}

/** Sorted keys at every level, so equal requests hash equally whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The prompt fingerprint a ModelCall records: sha256 of the canonical JSON request. */
export function promptFingerprint(request: LlmRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
