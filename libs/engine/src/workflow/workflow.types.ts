import { type Logger } from 'pino';
import { type RetryPolicy } from '@app/core';

/** A duration as text (`500ms`, `30s`, `5m`, `2h`, `1d`, `1h30m`) or milliseconds. */
export type Duration = string | number;

/** Where a message goes: a channel and its target (URL, chat, channel + thread). */
export interface Address {
  channel: string;
  target: string;
  /** Thread or reply anchor, channel-specific (Slack thread_ts, Telegram reply_to). */
  thread?: string;
}

/** JSON Schema an answer must satisfy. */
export type JsonSchema = Record<string, unknown>;

export interface StepContext {
  /** Stable across every re-run of this step: pass it to the side effect's target. */
  idempotencyKey: string;
  /** 1 on the first run of this step, 2 after a crash or failure, … */
  attempt: number;
  /** Aborted when the run loses its lease, is cancelled, or the step times out. */
  signal: AbortSignal;
  /** Renews the lease now (long steps between natural heartbeats). */
  heartbeat(): Promise<void>;
}

export interface StepOptions {
  /** Abort the step (and fail this attempt) after this long. */
  timeout?: Duration;
  /** Retries inside the run, before the work's own retry policy takes over. */
  retry?: Partial<RetryPolicy>;
}

/** One rung of an escalation ladder, relative to when the wait opened. */
export type EscalationStep =
  | { after: Duration; action: 'remind'; text?: string }
  | { after: Duration; action: 'escalate'; to: Address; text?: string }
  | { after: Duration; action: 'default'; value: unknown }
  | { after: Duration; action: 'fail' };

export interface WaitForOptions<T> {
  /** The correlation key an event must carry (a webhook's correlation header or pointer). */
  match: string;
  expects?: JsonSchema;
  timeout?: Duration;
  /** At the timeout: fail the work (default), or continue with `default`. */
  onTimeout?: 'fail' | 'default';
  default?: T;
  /** The kind of wait recorded: `event` (default) or `webhook`. */
  type?: 'event' | 'webhook';
}

export interface AskOptions<T> {
  /** Where the question is sent; omit to make it answerable only by a signal. */
  to?: Address;
  text: string;
  expects?: JsonSchema;
  /** Who may answer (channel user ids); any one if omitted. */
  responders?: string[];
  timeout?: Duration;
  onTimeout?: 'fail' | 'default';
  default?: T;
  /** Remind, hand over, take a default or fail, rung by rung (overrides timeout). */
  escalation?: EscalationStep[];
}

/** What a message carries; channels render what they understand. */
export interface OutboundMessageBody {
  text?: string;
  [field: string]: unknown;
}

export interface InboxEvent {
  eventId: string;
  /** A `collect` burst handed out as one event: every event id in it (eventId is the first). */
  eventIds?: string[];
  channel: string;
  source: string;
  decision: string;
  body: unknown;
  answer: unknown;
  receivedAt: string;
}

export interface WorkOrigin {
  channel: string;
  conversationKey: string | null;
  eventId: string | null;
  /**
   * Where the work was asked for, when that is a chat: `ctx.ask()` without `to`
   * prompts there, and `ctx.send(ctx.origin.address, …)` answers there.
   */
  address: Address | null;
}

/**
 * What a workflow function sees. Every method is a step boundary: its result is
 * recorded, and a re-run returns the recorded result instead of doing it again.
 */
export interface WorkflowContext<TInput = unknown> {
  readonly workId: string;
  readonly kind: string;
  readonly input: TInput;
  /** The attempt of the work (1 on the first run, + 1 per retry). */
  readonly attempt: number;
  readonly origin: WorkOrigin;
  readonly log: Logger;
  step<T>(
    name: string,
    fn: (step: StepContext) => Promise<T> | T,
    options?: StepOptions,
  ): Promise<T>;
  sleep(duration: Duration | { until: Date | string }): Promise<void>;
  waitFor<T = unknown>(options: WaitForOptions<T>): Promise<T>;
  ask<T = unknown>(options: AskOptions<T>): Promise<T>;
  send(to: Address, message: OutboundMessageBody): Promise<{ outboxId: string }>;
  child<T = unknown>(kind: string, input: unknown): Promise<T>;
  inbox(): Promise<InboxEvent[]>;
  now(): Promise<Date>;
  random(): Promise<number>;
  uuid(): Promise<string>;
}
