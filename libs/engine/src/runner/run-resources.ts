import { type Clock, type IdGenerator } from '@app/core';
import { type Logger } from '@app/config';
import {
  type AnswerValidator,
  type ClaimResult,
  type Dispatch,
  type LeaseService,
  type LedgerDatabase,
  type NewWait,
  type OutboxRepository,
  type StepRepository,
  type StepCheckpoint,
  type StepRow,
  type StepType,
  type WaitRepository,
  type WorkDispatcher,
  type WorkRepository,
  type WorkRow,
} from '@app/ledger';

/**
 * What every part of the run store shares (trigger.dev's run-engine "resources"): the
 * ledger's repositories, the clock and ids, and the dispatcher that enqueues after a
 * commit. Built once by RunStore; each system takes it whole.
 */
export interface RunResources {
  db: LedgerDatabase;
  works: WorkRepository;
  steps: StepRepository;
  waits: WaitRepository;
  outbox: OutboxRepository;
  validator: AnswerValidator;
  ids: IdGenerator;
  clock: Clock;
  dispatcher: WorkDispatcher;
  logger: Logger;
  leases: LeaseService;
}

/** Who is writing: the run holding a work's lease. Every write presents its token. */
export interface RunHandle {
  workId: string;
  token: bigint;
  workerId: string;
  /**
   * The work's row as this run last wrote it, while nothing else is known to have
   * changed it: the completion is then decided on it without a lock (applyKnown).
   * Cleared by every write that takes the locked path.
   */
  known?: WorkRow;
  /**
   * Completed steps whose checkpoints are not written yet (completeStep), oldest first:
   * a list, because steps run side by side (Promise.all) complete side by side. They go
   * out together with the run's next write — the next step's start or the work's
   * completion, in the same statement — or on their own once this turn of the event
   * loop is over. Every other write writes them first (settle), so nothing the run does
   * after a step (a step body, a wait, a message, the end of the run) is committed
   * before its checkpoint.
   */
  pending?: PendingCheckpoint[];
  /**
   * The checkpoint write on its way. One at a time per run, so the writes land in
   * order and the known row's version moves by one each; checkpoints that complete
   * meanwhile gather in `pending` and go out together after it. Never rejects: its
   * error goes to `failed`.
   */
  flushing?: Promise<void>;
  /**
   * The first checkpoint write that failed (a pause or cancel landed at that boundary:
   * Suspend; a lost lease; the ledger unreachable). Sticky: the run is over, and every
   * later write of the run throws it, however many writes were in flight.
   */
  failed?: { error: unknown };
  /** A flush of `pending` is due at the end of this turn of the event loop. */
  flushDue?: boolean;
  /**
   * Set while `pending` holds batched steps (`batched` durability): they wait for the
   * run's next write, or go out on their own when this fires (the batch's time limit).
   */
  batchTimer?: NodeJS.Timeout;
  /** The batch reached a limit while a write was on its way: it goes right after. */
  batchDue?: boolean;
  /**
   * Step bodies running now (CheckpointSystem.running), and what resolves when the
   * last of them has ended: a pause or cancel lands only once they are checkpointed.
   */
  bodies?: { running: number; ended?: { promise: Promise<void>; resolve: () => void } };
}

/** A completed step whose checkpoint is not written yet (the ledger's StepCheckpoint). */
export type PendingCheckpoint = StepCheckpoint;

/** What a hot-path checkpoint changed on the work. */
export type Checkpointed = Pick<WorkRow, 'version' | 'checkpointSeq'>;

/** What a fenced transaction leaves for after its commit: jobs, and whether the run must stop. */
export type Outcome = Dispatch[] & { stop?: 'paused' | 'cancelled' };

export type RunClaim =
  | { ok: true; token: bigint; work: WorkRow; steps: StepRow[] }
  | Extract<ClaimResult, { ok: false }>;

export interface WaitSpec {
  stepName: string;
  stepType: StepType;
  wait: Omit<NewWait, 'id' | 'workId' | 'stepSeq'>;
  /** Check the inbox first: a buffered event on this correlation key answers at once. */
  inboxCorrelationKey?: string;
  /** A prompt to send in the same transaction (ask). */
  prompt?: { channel: string; target: string; payload: Record<string, unknown> };
  /** Timer for the first rung (or the sleep itself). */
  timerAt?: number;
  /** A recorded step being run again (its old wait is replaced). */
  restartStepId?: string;
}

export type OpenWaitResult = { satisfied: true; value: unknown } | { satisfied: false };
