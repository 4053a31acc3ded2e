/** The operator API's answers as the CLI reads them (the OpenAPI document has them all). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface WorkSummary {
  id: string;
  kind: string;
  state: string;
  attempt: number;
  channel: string;
  conversationKey: string | null;
  waitReason: string | null;
  createdAt: string;
  updatedAt: string;
  runAfter: string | null;
  parentId: string | null;
  costUsd: number;
}

export interface WorkDetail {
  work: WorkSummary & {
    input: unknown;
    output: unknown;
    error: unknown;
    sourceId: string | null;
    leaseOwner: string | null;
    leaseExpiresAt: string | null;
    pausedFrom: string | null;
    finishedAt: string | null;
  };
  timeline: Array<{ seq: number; type: string; data: unknown; actor: string | null; at: string }>;
  steps: Array<{
    seq: number;
    name: string;
    type: string;
    status: string;
    attempt: number;
    durationMs: number | null;
    error: unknown;
  }>;
  waits: Array<{
    id: string;
    type: string;
    status: string;
    timeoutAt: string | null;
    escalation: Array<{ afterMs: number; action: string }> | null;
    escalationRung: number;
    correlationKey: string | null;
  }>;
  inbox: Array<{ id: string; channel: string; receivedAt: string }>;
  modelCalls: Array<{ model: string; costUsd: number; inputTokens: number; outputTokens: number }>;
  costUsd: number;
  parent: WorkSummary | null;
  children: WorkSummary[];
}

export interface ActionResult {
  work: WorkSummary;
  event: string;
  waitId?: string;
}

export interface InboundEvent {
  id: string;
  channel: string;
  source: string;
  decision: string;
  reason: string;
  workId: string | null;
  receivedAt: string;
}

export interface QueueCounts {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  waitingChildren: number;
  completed: number;
  failed: number;
  paused: boolean;
}

export interface Lease {
  workId: string;
  kind: string;
  attempt: number;
  leaseOwner: string | null;
  leaseExpiresAt: string | null;
  lastHeartbeatAt: string | null;
  expired: boolean;
}

export interface OutboxMessage {
  id: string;
  workId: string | null;
  channel: string;
  target: string;
  status: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  createdAt: string;
}

export interface Schedule {
  id: string;
  name: string;
  kind: string;
  cron: string | null;
  timezone: string;
  intervalMs: number | null;
  runAt: string | null;
  workflowKind: string;
  enabled: boolean;
  nextFireAt: string | null;
  lastFiredAt: string | null;
}

export interface Stats {
  byState: Record<string, number>;
  costPerDay: Array<{ day: string; costUsd: number }>;
}

/** GET /api/v1/works/{id}/result. */
export interface WorkResult {
  id: string;
  kind: string;
  state: string;
  done: boolean;
  output: unknown;
  error: unknown;
  finishedAt: string | null;
}
