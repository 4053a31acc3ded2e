/**
 * What the ledger asks of the queues once a transaction has committed. The ledger is
 * the truth; a dispatch that fails (Redis down, wiped) is repaired by the reconciler,
 * which rebuilds every job from the rows: QUEUED works, open waits with timers,
 * pending outbox rows.
 */
export type Dispatch =
  /** Run the work. `at`: not before this instant (a backoff still pending after a resume). */
  | {
      type: 'run';
      workId: string;
      runSeq: number;
      at?: number;
      /** Enqueued by the work's creation: its run may claim it as created (asCreated()). */
      asCreated?: true;
    }
  /** A retry backoff: run again at `at`. */
  | { type: 'retry'; workId: string; runSeq: number; attempt: number; at: number }
  /**
   * A wait's timer (sleep, timeout, escalation rung `rung`) at `at`. `replace`: re-arm —
   * a delayed job already there under the same id moves to the new time.
   */
  | { type: 'wait-timer'; waitId: string; rung: number; at: number; replace?: boolean }
  /**
   * Deliver an outbox row (attempt numbers the job id). `replace`: a delayed job already
   * there under the same id moves to `at` — the reconciler's full pass, reading a row
   * while an attempt holds it, queues the next attempt at that attempt's deadline, and
   * the attempt's own retry would otherwise be deduped onto it (a 100 ms retry, 60 s late).
   */
  | { type: 'deliver'; outboxId: string; attempt: number; at?: number; replace?: boolean }
  /**
   * Tell the run holding this work to read its row now: a cancel or an interrupt was
   * requested. A hint only — the run's heartbeat (every lease/3) reads it anyway.
   */
  | { type: 'nudge'; workId: string }
  /**
   * The work ended with unread events in its inbox (marked `rerouteAt`): route them
   * again. A hint too: the reconciler routes whatever is still marked.
   */
  | { type: 'reroute'; workId: string; runSeq: number };

export interface WorkDispatcher {
  dispatch(items: Dispatch[]): Promise<void>;
}

export const WORK_DISPATCHER = Symbol('WorkDispatcher');
