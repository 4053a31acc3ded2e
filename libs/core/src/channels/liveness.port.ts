/**
 * What a chat shows while the assistant works (docs/telegram.md and docs/slack.md,
 * "Liveness"): `off` nothing, `typing` the channel's "is typing…" / thread status,
 * `stream` that plus the answer as it is generated. Set per Telegram bot and per Slack
 * workspace.
 */
export const LIVENESS_MODES = ['off', 'typing', 'stream'] as const;
export type LivenessMode = (typeof LIVENESS_MODES)[number];

/** A chat address as the engine has it (channel, target, thread): where the preview goes. */
export interface LivenessAddress {
  channel: string;
  target: string;
  thread?: string;
}

/**
 * One preview of one model call in one chat. Never the record: the answer is the
 * outbox's message, sent once; the preview is shown while the model works and ended
 * (a draft stops, a preview message is deleted) when the call is over. Every method
 * is best-effort: it may reject, and the caller logs and carries on.
 */
export interface ChatPreview {
  /** Shows that the assistant is working (repeated by the caller while it does). */
  typing(): Promise<void>;
  /** Shows the answer so far (the whole text, not the new piece). */
  text(soFar: string): Promise<void>;
  /** Ends the preview: nothing of it stays in the chat as an answer. */
  end(): Promise<void>;
}

/** Pacing a channel asks for, from its rate limits. */
export interface PreviewPacing {
  /** How often the typing indicator is repeated (it fades on its own). */
  typingEveryMs: number;
  /** The least time between two updates of the previewed text. */
  textEveryMs: number;
}

/** A channel's way of showing liveness (Telegram, Slack); the worker registers one per channel. */
export interface LivenessChannel {
  readonly channel: string;
  /** The configured mode for this address (its bot's or workspace's `liveness`). */
  modeFor(address: LivenessAddress): LivenessMode;
  pacing(address: LivenessAddress): PreviewPacing;
  /**
   * A preview for one model call. `recipient` is the person being answered (Slack
   * streams outside a DM name the user and team); `id` is unique to the call (a
   * Telegram draft's id: non-zero).
   */
  open(address: LivenessAddress, options: PreviewOptions): ChatPreview;
  /** Deletes a preview message a run left behind (its worker died before ending it). */
  discard(preview: PreviewMessageRef): Promise<void>;
}

export interface PreviewOptions {
  recipient?: PreviewRecipient;
  id: number;
  /**
   * Told when the preview put a message in the chat that must go at the end (a group's
   * preview message, a Slack stream) and when it went: a preview whose worker dies in
   * between is found and deleted by the work's next run (OpenPreviews). Never rejects.
   */
  track?: {
    opened(message: string): Promise<void>;
    closed(message: string): Promise<void>;
  };
}

/** A preview message in a chat: where it is and its provider id (message id, ts). */
export interface PreviewMessageRef extends LivenessAddress {
  message: string;
}

/**
 * The preview messages of each work still in a chat. Best-effort bookkeeping, not a
 * record (Redis may lose it; then a dead worker's preview simply stays in the chat).
 */
export interface OpenPreviews {
  add(workId: string, preview: PreviewMessageRef): Promise<void>;
  remove(workId: string, preview: PreviewMessageRef): Promise<void>;
  /** Every open preview of the work, forgotten as they are handed out. */
  take(workId: string): Promise<PreviewMessageRef[]>;
}

/** The person a preview is for, as the channel names them. */
export interface PreviewRecipient {
  user: string;
  team?: string;
}
