import { type Logger } from 'pino';
import { type StepRow, type StepType, type WorkRow } from '@app/ledger';
import { type RunHandle } from '../runner/run-resources';
import { llmCall } from './llm-call';
import {
  childCall,
  inboxCall,
  nowCall,
  randomCall,
  sendCall,
  setTitleCall,
  uuidCall,
} from './recorded-calls';
import { ReplayCursor } from './replay-cursor';
import { abortReason, type RunDeps, type RunScope } from './run-scope';
import { runStep } from './step-call';
import { UnderwayCalls } from './underway-calls';
import { askCall, sleepCall, waitForCall } from './wait-calls';
import { type DeterminismError, NonRetryableError } from './workflow.errors';
import {
  type Address,
  type AskOptions,
  type Duration,
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

/**
 * One run of one work: the WorkflowContext the workflow function receives. Each ctx
 * call takes the next sequence number and either returns what the record holds for
 * it, or does the thing and records it (step-call, llm-call, wait-calls,
 * recorded-calls: each a function of the run's RunScope). A record with a different
 * name or kind at that position is a determinism error, never silent drift.
 */
export class WorkflowRun implements WorkflowContext {
  private readonly cursor: ReplayCursor;
  private readonly underway = new UnderwayCalls();
  private readonly scope: RunScope;
  readonly origin: WorkOrigin;

  constructor(
    deps: RunDeps,
    run: RunHandle,
    private readonly work: WorkRow,
    readonly input: unknown,
    record: Map<number, StepRow>,
    private readonly signal: AbortSignal,
    readonly log: Logger,
  ) {
    this.origin = {
      channel: work.sourceType,
      conversationKey: work.conversationKey,
      eventId: work.sourceId,
      address: work.replyAddress ?? null,
    };
    this.cursor = new ReplayCursor(record);
    this.scope = {
      deps,
      run,
      work,
      origin: this.origin,
      signal,
      log,
      next: (name, type) => this.next(name, type),
      underway: (call) => this.underway.add(call),
      quiesce: (name) => this.underway.quiesce(name),
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

  /** The ctx call the run reached last, for the runner's log lines (`{ step, seq }`). */
  get currentStep(): { step: string; seq: number } | undefined {
    return this.cursor.currentStep;
  }

  /** The violation this run hit, if any (it wins over whatever error the code threw after it). */
  get determinismViolation(): DeterminismError | undefined {
    return this.cursor.violation;
  }

  private next(name: string, type: StepType): { seq: number; recorded: StepRow | undefined } {
    // Between steps is where an aborted run ends: a lost lease, a stopping worker, and
    // also a cancel or the run's timeout that landed between two steps. The run's signal
    // aborts once, so a step started after it would never hear of it.
    if (this.signal.aborted) throw abortReason(this.signal);
    // A draining worker: the step before this one has finished (its checkpoint is on
    // its way, and the release writes it first), so this is where the run gives up.
    const stop = this.scope.deps.stopAtBoundary;
    if (stop?.aborted) throw abortReason(stop);
    this.cursor.throwIfViolated();
    if (this.underway.ended)
      throw new NonRetryableError(
        `ctx call "${name}" after the workflow function had returned (a step not awaited?)`,
        'ctx_after_end',
      );
    return this.cursor.take(name, type);
  }

  /**
   * Called when the workflow function has returned: a violation it caught, or a
   * recorded step it never reached (the code now ends earlier), fails the work.
   */
  assertReplayComplete(): void {
    this.cursor.assertComplete();
  }

  /** Waits (at most `limitMs`) for the calls still under way; none may start after (UnderwayCalls.drain). */
  drain(limitMs: number): Promise<void> {
    return this.underway.drain(limitMs);
  }

  step<T>(
    name: string,
    fn: (step: StepContext) => Promise<T> | T,
    options: StepOptions = {},
  ): Promise<T> {
    return this.underway.add(runStep(this.scope, name, fn, options));
  }

  sleep(duration: Duration | { until: Date | string }): Promise<void> {
    return sleepCall(this.scope, duration);
  }

  waitFor<T = unknown>(options: WaitForOptions<T>): Promise<T> {
    return waitForCall(this.scope, options);
  }

  ask<T = unknown>(options: AskOptions<T>): Promise<T> {
    return askCall(this.scope, options);
  }

  llm(request: LlmRequest, options: LlmOptions): Promise<LlmResponse> {
    return this.underway.add(llmCall(this.scope, request, options));
  }

  send(to: Address, message: OutboundMessageBody): Promise<{ outboxId: string }> {
    return this.underway.add(sendCall(this.scope, to, message));
  }

  child<T = unknown>(kind: string, input: unknown): Promise<T> {
    return childCall(this.scope, kind, input);
  }

  inbox(): Promise<InboxEvent[]> {
    return this.underway.add(inboxCall(this.scope));
  }

  now(): Promise<Date> {
    return this.underway.add(nowCall(this.scope));
  }

  random(): Promise<number> {
    return this.underway.add(randomCall(this.scope));
  }

  uuid(): Promise<string> {
    return this.underway.add(uuidCall(this.scope));
  }

  setTitle(title: string): Promise<void> {
    return this.underway.add(setTitleCall(this.scope, title));
  }
}
