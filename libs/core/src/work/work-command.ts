import { type RetryPolicy } from '../retry/retry-policy';

/** Every way a work can be asked to change. Commands from a run carry its fencing token. */
export type WorkCommand =
  | { type: 'create'; retryPolicy: RetryPolicy }
  | { type: 'claim'; owner: string; leaseMs: number; now: number }
  | { type: 'heartbeat'; token: bigint; leaseMs: number; now: number }
  | { type: 'step_completed'; token: bigint; seq: number }
  | { type: 'open_wait'; token: bigint; seq: number }
  | { type: 'wait_satisfied' }
  | { type: 'timer_fired' }
  | { type: 'wait_timed_out'; onTimeout: 'fail' | 'resume' }
  | { type: 'complete'; token: bigint }
  | {
      type: 'fail';
      token: bigint;
      errorCode?: string;
      retryable: boolean;
      now: number;
      random: number;
    }
  | { type: 'lease_expired'; token: bigint; now: number; random: number }
  /** A worker shutting down gives the work back without using up an attempt. */
  | { type: 'release'; token: bigint }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel' }
  | { type: 'retry' }
  | { type: 'rerun_from_step'; seq: number };

export type WorkCommandType = WorkCommand['type'];

export const WORK_COMMAND_TYPES: readonly WorkCommandType[] = [
  'create',
  'claim',
  'heartbeat',
  'step_completed',
  'open_wait',
  'wait_satisfied',
  'timer_fired',
  'wait_timed_out',
  'complete',
  'fail',
  'lease_expired',
  'release',
  'pause',
  'resume',
  'cancel',
  'retry',
  'rerun_from_step',
];

/** Commands that only the run holding the lease may issue. */
export const FENCED_COMMANDS: readonly WorkCommandType[] = [
  'heartbeat',
  'step_completed',
  'open_wait',
  'complete',
  'fail',
  'lease_expired',
  'release',
];

/** Operator commands that bring a finished work back. */
export const OPERATOR_RETRY_COMMANDS: readonly WorkCommandType[] = ['retry', 'rerun_from_step'];
