import { type IngestDecision, type InboundEventInput } from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';

/** What the chat layer decided before routing: handled here, or a routable event. */
export type ChatPrepared =
  | { kind: 'route'; event: InboundEventInput; feedback?: string }
  | { kind: 'handled'; applied: ChatApplied };

export interface ChatApplied {
  decision: IngestDecision;
  reason: string;
  workId: string | null;
  waitId: string | null;
  dispatches: Dispatch[];
  feedback?: string;
}

/** A chat input handled by answering its presser only: nothing written, nothing sent. */
export function nothing(decision: IngestDecision, reason: string, feedback: string): ChatApplied {
  return { decision, reason, workId: null, waitId: null, dispatches: [], feedback };
}

/** The chat message an event came as, for a reply to quote. */
export function messageIdOf(event: InboundEventInput): string | undefined {
  const id = (event.body as { messageId?: unknown } | null)?.messageId;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}
