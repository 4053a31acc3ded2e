/**
 * What the rest of workgate reports to metrics, as plain method calls. The ledger and
 * the engine depend on this port only; prom-client stays in PromMetrics. Every
 * injection point takes it as optional with NOOP_METRICS as the default, so tests and
 * tools that build a module without metrics need not provide one.
 */
export interface MetricsPort {
  /** A new inbound event was committed with the router's decision (duplicates excluded). */
  eventIngested(channel: string, decision: string): void;
  /** A redelivery of an event already in the ledger: nothing was written. */
  eventDuplicate(channel: string): void;
  /** A `ctx.step` attempt ended; `seconds` is its wall time in this worker. */
  stepFinished(
    step: { kind: string; name: string; outcome: 'completed' | 'failed' },
    seconds: number,
  ): void;
  /** The reconciler took a work back from a worker whose lease ran out. */
  leaseExpired(kind: string): void;
  /** A timer fired: a sleep's wake (`sleep`) or a wait's timeout or escalation rung (`wait`). */
  timerFired(timer: 'sleep' | 'wait', lateSeconds: number): void;
  /** A delivery attempt failed: `retry` (it will be tried again) or `failed` (given up). */
  outboxFailed(channel: string, outcome: 'retry' | 'failed'): void;
  /** One model invocation (the agent calls this for each ModelCall row it writes). */
  modelCall(call: ModelCallMetrics): void;
}

export interface ModelCallMetrics {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
}

export const METRICS = Symbol('METRICS');

export const NOOP_METRICS: MetricsPort = {
  eventIngested: () => undefined,
  eventDuplicate: () => undefined,
  stepFinished: () => undefined,
  leaseExpired: () => undefined,
  timerFired: () => undefined,
  outboxFailed: () => undefined,
  modelCall: () => undefined,
};
