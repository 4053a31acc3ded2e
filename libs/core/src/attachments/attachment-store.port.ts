import { type AttachmentRef, type StoredAttachment } from './attachment';

/**
 * Where attachment bytes are kept (PostgreSQL, a local directory). `put` is idempotent by
 * id: storing the same attachment again (a step re-run after a crash) keeps one copy.
 */
export interface AttachmentStore {
  put(
    id: string,
    data: Uint8Array,
    meta: { mime: string; name: string },
  ): Promise<StoredAttachment>;
  /** The attachment with its bytes; null when no such id is stored. */
  get(id: string): Promise<{ meta: StoredAttachment; data: Uint8Array } | null>;
}

/** A fetch refused before or while downloading: too big, or gone at the provider. */
export class AttachmentFetchError extends Error {
  constructor(
    message: string,
    readonly reason: 'too_large' | 'not_found' | 'unavailable',
    /** False: the same fetch will fail again (no retry). */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'AttachmentFetchError';
  }
}

/**
 * A channel's file download (Telegram getFile + file URL, Slack url_private_download
 * with the bot token). At most `maxBytes` are read: a larger file is an
 * AttachmentFetchError('too_large') whatever the provider declared.
 */
export interface AttachmentFetcher {
  readonly channel: string;
  fetch(
    ref: AttachmentRef,
    options: { maxBytes: number; signal: AbortSignal },
  ): Promise<Uint8Array>;
}
