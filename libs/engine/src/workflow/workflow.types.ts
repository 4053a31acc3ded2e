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
  /** This step's durability, over the workflow's (docs/workflows.md, "Durability modes"). */
  durability?: DurabilityMode;
}

/**
 * When a step's result is committed (docs/guarantees.md). `step`: on the record as
 * running before its body runs, its result committed before anything after it. `batched`:
 * consecutive steps' results committed together at the run's next externally visible
 * action (a wait, a message, a child, a model call, a `step` step, the end) or when the
 * batch reaches its limits; a crash re-runs the uncommitted ones with the same keys.
 */
export type DurabilityMode = 'step' | 'batched';

/** Bounds on how much a `batched` run holds uncommitted. */
export interface BatchLimits {
  /** Commit once this many batched steps are waiting (default 64). */
  maxSteps?: number;
  /** Commit once the oldest waiting batched step has waited this long (default '200ms'). */
  maxDelay?: Duration;
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
  /** The kind of wait recorded: `human` (default), or `budget` for a spending approval. */
  waitType?: 'human' | 'budget';
  /**
   * Send `text` as an ordinary message: no buttons or reply prompt, and not edited with
   * who answered. For a conversation that simply carries on (an assistant's answer,
   * open to a follow-up): the next message that fits `expects` answers it.
   */
  plain?: boolean;
}

/** A message of a model conversation, provider-neutral (Chat Completions' shape). */
export interface LlmMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  /** assistant: the tools the model asked to call. */
  toolCalls?: LlmToolCall[];
  /** tool: the call this message answers. */
  toolCallId?: string;
  /** user: images given to the model with the text (vision input). */
  images?: LlmImage[];
}

/** An image a user message carries, as bytes (the attachment store's), base64-encoded. */
export interface LlmImage {
  mime: string;
  /** Base64 of the image bytes. */
  data: string;
}

export interface LlmToolCall {
  id: string;
  name: string;
  /** JSON text as the model wrote it (it may be invalid). */
  arguments: string;
}

export interface LlmToolSpec {
  name: string;
  description: string;
  parameters: JsonSchema;
}

export interface LlmRequest {
  model: string;
  messages: LlmMessage[];
  tools?: LlmToolSpec[];
  temperature?: number;
  maxTokens?: number;
}

export interface LlmUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of inputTokens). */
  cachedTokens: number;
}

/** What a ModelClient returns for one successful call. */
export interface LlmCompletion {
  message: LlmMessage;
  finishReason: string | null;
  usage: LlmUsage;
  /** The model that answered (may differ from the one requested, e.g. a dated snapshot). */
  model: string;
}

/** What ctx.llm returns, and what its step records. */
export interface LlmResponse extends LlmCompletion {
  costUsd: number;
  latencyMs: number;
  /** Oldest messages dropped (after a leading system message) to fit the context window. */
  trimmed: number;
}

/**
 * The model provider port. Errors it throws should be ModelError (workflow.errors.ts),
 * so ctx.llm can tell a rate limit (retry after) from a full context (trim) from a
 * permanent failure.
 */
export interface ModelClient {
  /** Recorded on each ModelCall (`openai`, `azure`, `ollama`, …). */
  readonly provider: string;
  /**
   * `onText`, when given, asks for the answer as it is generated (a preview for the chat):
   * called with the whole text so far after each piece. A client that cannot stream
   * ignores it. The completion returned is the record either way.
   */
  complete(
    request: LlmRequest,
    options: { signal: AbortSignal; onText?: (soFar: string) => void },
  ): Promise<LlmCompletion>;
  /** USD for one call's usage (the configured price table); 0 when unknown. */
  cost(model: string, usage: LlmUsage): number;
}

export interface LlmOptions {
  client: ModelClient;
  /** The step's name (default `llm`). */
  name?: string;
  /** One model request's time limit (default 2m). */
  timeout?: Duration;
  /** Attempts for 429 / 5xx / connection errors inside the step (default 6). */
  maxAttempts?: number;
  /**
   * On a context-length error: a shorter request (oldest turns dropped), or null when
   * nothing more can go. Must drop messages from the front only (after a system message).
   */
  trim?: (request: LlmRequest) => LlmRequest | null;
  /**
   * Told when the model is really called (never on a replay of the recorded step) and,
   * when the client streams, of the answer so far: what a chat shows while the model
   * works. Best-effort by contract: it must not throw, and nothing it does is recorded.
   */
  progress?: LlmProgress;
}

/** What ctx.llm tells its caller while a model call runs (LlmOptions.progress). */
export interface LlmProgress {
  /** Before each attempt of the model call. */
  started(): void;
  /** The answer's text so far (whole, not the new piece); absent: the model need not stream. */
  text?(soFar: string): void;
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
  /**
   * One model call as a step: recorded with its ModelCall row (tokens, cost, latency),
   * retried inside the step on 429/5xx, and never repeated on replay.
   */
  llm(request: LlmRequest, options: LlmOptions): Promise<LlmResponse>;
  send(to: Address, message: OutboundMessageBody): Promise<{ outboxId: string }>;
  child<T = unknown>(kind: string, input: unknown): Promise<T>;
  inbox(): Promise<InboxEvent[]>;
  now(): Promise<Date>;
  random(): Promise<number>;
  uuid(): Promise<string>;
  /**
   * Names the work in a few words (at most 200 characters): lists, the dashboard and the
   * chat buttons that offer this work ("which one did you mean?") show it. Recorded like
   * a step; the last call wins.
   */
  setTitle(title: string): Promise<void>;
}
