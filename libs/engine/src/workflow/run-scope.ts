import { type Logger } from 'pino';
import {
  type Clock,
  type IdGenerator,
  parseDurationMs,
  type RetryPolicy,
  toJsonbText,
} from '@app/core';
import { type StepRow, type StepType, type WorkRow } from '@app/ledger';
import { type MetricsPort } from '@app/observability';
import { type RunHandle } from '../runner/run-resources';
import { type RunStore } from '../runner/run-store';
import { NonRetryableError } from './workflow.errors';
import { type DurabilityMode, type Duration, type WorkOrigin } from './workflow.types';

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
  /** The workflow's durability, and the limits of a batch (defineWorkflow's options). */
  durability: RunDurability;
  /**
   * Aborted when the worker drains for a shutdown: the run stops before its next ctx
   * call (a step boundary) and releases its work, while the step under way finishes.
   */
  stopAtBoundary?: AbortSignal;
}

/** A run's durability: its workflow's mode, and how much a batch may hold uncommitted. */
export interface RunDurability {
  mode: DurabilityMode;
  maxSteps: number;
  maxDelayMs: number;
}

/**
 * What every ctx call of one run shares (WorkflowRun builds it): the run's lease and
 * record, its abort signal, and the two rules every call follows — take the next
 * position (`next`: replay or determinism error) and, if it records without
 * suspending, count as under way until it settles (`underway`).
 */
export interface RunScope {
  readonly deps: RunDeps;
  readonly run: RunHandle;
  readonly work: WorkRow;
  readonly origin: WorkOrigin;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** The next sequence number and what the record holds there (see WorkflowRun.next). */
  next(name: string, type: StepType): { seq: number; recorded: StepRow | undefined };
  /** `call` counted as under way until it settles (UnderwayCalls). */
  underway<T>(call: Promise<T>): Promise<T>;
  /** Before a wait suspends the run: the calls under way finish first (UnderwayCalls). */
  quiesce(name: string): Promise<void>;
}

export function durationMs(value: Duration, what: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new NonRetryableError(`${what}: not a duration: ${String(value)}`, 'invalid_duration');
  return ms;
}

/**
 * A value from workflow code bound for the ledger (a message, a child's input, a
 * wait's declaration, a model's response): what PostgreSQL would refuse fails the
 * call here, with the place named, instead of as a database error the work retries.
 */
export function recordable(what: string, value: unknown): void {
  const stored = toJsonbText(value);
  if (!stored.ok)
    throw new NonRetryableError(
      `${what} cannot be recorded: it ${stored.problem}`,
      'unstorable_value',
    );
}

/** Why the run's signal aborted, as the error to throw. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('the run was aborted');
}
