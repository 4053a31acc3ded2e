import { type RetryPolicy } from '../retry/retry-policy';

export const WORK_STATES = [
  'QUEUED',
  'RUNNING',
  'WAITING',
  'PAUSED',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const;
export type WorkState = (typeof WORK_STATES)[number];

export const TERMINAL_STATES: readonly WorkState[] = ['COMPLETED', 'FAILED', 'CANCELLED'];
/** States in which a work still has something to do (the router's "live" works). */
export const LIVE_STATES: readonly WorkState[] = ['QUEUED', 'RUNNING', 'WAITING', 'PAUSED'];

export function isTerminal(state: WorkState): boolean {
  return TERMINAL_STATES.includes(state);
}

/**
 * The part of a Work row the state machine decides on. Times are epoch milliseconds
 * so the core stays free of Date arithmetic across time zones.
 */
export interface WorkSnapshot {
  state: WorkState;
  /** For PAUSED: the state resume returns to (QUEUED or WAITING). */
  pausedFrom: WorkState | null;
  /** 1-based number of the current attempt. */
  attempt: number;
  retryPolicy: RetryPolicy;
  /** Bumped whenever the work is (re)queued; part of the work job id. */
  runSeq: number;
  leaseOwner: string | null;
  /** Fencing token: bumped by every claim; writes by a run must present it. */
  leaseToken: bigint;
  leaseExpiresAt: number | null;
  runAfter: number | null;
  pauseRequested: boolean;
  cancelRequested: boolean;
  checkpointSeq: number;
  version: number;
}
