import {
  type IngestDecision,
  type RetryPolicy,
  type RouteOutcome,
  type WorkState,
} from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';

/** Where new works get their retry policy (the engine's workflow registry provides it). */
export interface WorkflowDefaults {
  retryPolicy(kind: string): RetryPolicy;
}
export const WORKFLOW_DEFAULTS = Symbol('WorkflowDefaults');

export const DECISION_BY_OUTCOME: Record<RouteOutcome['decision'], IngestDecision> = {
  resume: 'resumed',
  inbox: 'inbox',
  collect: 'collected',
  interrupt: 'interrupted',
  reject: 'rejected',
  'ask-which': 'asked',
  open: 'opened',
  drop: 'dropped',
};

/** What applying a routing decision wrote, and what the caller answers and enqueues. */
export type Applied = {
  decision: IngestDecision;
  reason: string;
  workId: string | null;
  waitId: string | null;
  dispatches: Dispatch[];
  feedback?: string;
  /** The decision is already on the event (written with the resume, see RESUME). */
  recorded?: boolean;
};

/**
 * The work an event was about to go into the inbox of had ended (it completed, failed
 * or was cancelled after the candidates were read, before its row lock was granted):
 * the event is routed again instead, never left in the inbox of a finished work.
 */
export type Ended = { ended: { workId: string; state: WorkState } };
