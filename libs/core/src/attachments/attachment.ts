/**
 * Files people send and files workgate sends: the provider's reference an inbound event
 * carries, what the attachment store keeps, and the pure rules for what the model can
 * take. No I/O here: stores and fetchers are ports (attachment-store.port.ts).
 */

/** What the provider calls the file: Telegram's message field, or a Slack file. */
export type AttachmentKind = 'photo' | 'document' | 'voice' | 'audio' | 'video' | 'file';

/**
 * A file as an inbound event references it, before or without its bytes: enough for
 * the channel's fetcher to download it again at any time (Telegram `file_id`, which
 * stays valid for the bot; Slack `url_private_download`, valid while the file exists).
 * `id` is stable for the event (`<event external id>#<index>`), so fetching twice
 * stores once.
 */
export interface AttachmentRef {
  id: string;
  channel: string;
  /** The bot or workspace whose credentials download it. */
  source: string;
  kind: AttachmentKind;
  name: string | null;
  mime: string | null;
  /** As the provider declared it; null when it did not. */
  size: number | null;
  /** Telegram `file_id`. */
  fileId?: string;
  /** Slack `url_private_download` (or `url_private`). */
  url?: string;
}

/** A file in the attachment store: its bytes are addressed by `id`, checked by `sha256`. */
export interface StoredAttachment {
  id: string;
  sha256: string;
  mime: string;
  size: number;
  name: string;
}

/** An outbound file in a `message` payload: a stored attachment, or small bytes inline. */
export type OutboundFile =
  { id: string; name?: string; mime?: string } | { name: string; mime?: string; data: string };

/** How the model can take a file. */
export type AttachmentUse = 'image' | 'text' | 'audio';

export interface AttachmentLimits {
  /** Largest file fetched at all, bytes. */
  maxBytes: number;
  /** Largest image given to the model. */
  imageMaxBytes: number;
  /** Largest voice note or audio file transcribed. */
  audioMaxBytes: number;
  /** Characters of a text file given to the model; the rest is cut with a note. */
  textMaxChars: number;
}

/** Image types the OpenAI vision input accepts (platform.openai.com, "Images and vision"). */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Audio types audio.transcriptions accepts (flac mp3 mp4 mpeg mpga m4a ogg wav webm). */
const AUDIO_TYPES = new Set([
  'audio/ogg',
  'audio/mpeg',
  'audio/mp3',
  'audio/mp4',
  'audio/m4a',
  'audio/x-m4a',
  'audio/wav',
  'audio/x-wav',
  'audio/webm',
  'audio/flac',
  'audio/mpga',
]);

/** application/* types that are text in all but name. */
const TEXT_APPLICATION_TYPES = new Set([
  'application/json',
  'application/xml',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/javascript',
  'application/typescript',
  'application/x-sh',
  'application/sql',
  'application/x-ndjson',
  'application/csv',
]);

/** Extensions of text-like files that providers often label application/octet-stream. */
const TEXT_EXTENSIONS = new Set(
  (
    'txt md markdown csv tsv json jsonl ndjson yaml yml toml ini cfg conf log xml html htm css ' +
    'js mjs cjs ts tsx jsx py rb go rs java kt kts c h cc cpp hpp cs php sh bash zsh sql swift ' +
    'scala lua pl r dart ex exs erl hs clj vue svelte graphql proto tf env gitignore dockerfile'
  ).split(' '),
);

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  wav: 'audio/wav',
  webm: 'audio/webm',
  flac: 'audio/flac',
  pdf: 'application/pdf',
};

function extensionOf(name: string | null): string {
  const base = (name ?? '').toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot >= 0 ? base.slice(dot + 1) : base;
}

/**
 * The file's media type: the provider's when it names one beyond
 * application/octet-stream, else guessed from the name's extension.
 */
export function mediaTypeOf(mime: string | null, name: string | null): string {
  const declared = (mime ?? '').split(';')[0]!.trim().toLowerCase();
  if (declared && declared !== 'application/octet-stream') return declared;
  const ext = extensionOf(name);
  if (Object.hasOwn(EXTENSION_TYPES, ext)) return EXTENSION_TYPES[ext]!;
  if (TEXT_EXTENSIONS.has(ext)) return 'text/plain';
  return declared || 'application/octet-stream';
}

/** Whether (and how) the model can use a file of this type and name. */
export function attachmentUse(mime: string, name: string | null): AttachmentUse | null {
  if (IMAGE_TYPES.has(mime)) return 'image';
  if (AUDIO_TYPES.has(mime)) return 'audio';
  if (mime.startsWith('text/') || TEXT_APPLICATION_TYPES.has(mime) || mime.endsWith('+json'))
    return 'text';
  if (TEXT_EXTENSIONS.has(extensionOf(name))) return 'text';
  return null;
}

/** The size limit for a use (the overall one when the model cannot use the file). */
export function limitFor(use: AttachmentUse | null, limits: AttachmentLimits): number {
  switch (use) {
    case 'image':
      return Math.min(limits.maxBytes, limits.imageMaxBytes);
    case 'audio':
      return Math.min(limits.maxBytes, limits.audioMaxBytes);
    case 'text':
    case null:
      return limits.maxBytes;
  }
}

/** `1.5 MB`, `820 KB`, `12 bytes`: sizes in replies people read. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** A display name for a file that came without one (a Telegram photo or voice note). */
export function defaultAttachmentName(kind: AttachmentKind, mime: string): string {
  const ext = Object.entries(EXTENSION_TYPES).find(([, type]) => type === mime)?.[0] ?? 'bin';
  return `${kind}.${ext}`;
}

/**
 * Text of a file as UTF-8, cut at `maxChars`; `binary` when it holds NUL bytes or is
 * mostly undecodable (a file named .txt that is not text).
 */
export function decodeTextFile(
  text: string,
  maxChars: number,
): { text: string; truncated: boolean } | { binary: true } {
  if (text.includes('\u0000')) return { binary: true };
  const replaced = text.length ? (text.match(/\uFFFD/g)?.length ?? 0) / text.length : 0;
  if (replaced > 0.1) return { binary: true };
  if (text.length <= maxChars) return { text, truncated: false };
  return { text: text.slice(0, maxChars), truncated: true };
}

/** A chat message with files, as a wait receives it (a message without files answers with its text). */
export interface MessageWithFiles {
  text: string;
  attachments: AttachmentRef[];
}

/**
 * What a chat message answers a wait with: its text, or `{ text, attachments }` when it
 * carries files — so a free-text ask (`expects: { type: 'string' }`) is not answered by
 * a photo, and a follow-up that accepts objects gets the files too.
 */
export function answerOf(text: string, attachments: AttachmentRef[]): string | MessageWithFiles {
  return attachments.length ? { text, attachments } : text;
}

/** The files an inbound body carries (`body.attachments`), checked loosely. */
export function attachmentsOf(body: unknown): AttachmentRef[] {
  const list = (body as { attachments?: unknown } | null)?.attachments;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (a): a is AttachmentRef =>
      typeof a === 'object' &&
      a !== null &&
      typeof (a as AttachmentRef).id === 'string' &&
      typeof (a as AttachmentRef).channel === 'string',
  );
}
