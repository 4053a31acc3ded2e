import {
  type AttachmentRef,
  type AttachmentUse,
  attachmentUse,
  AttachmentFetchError,
  decodeTextFile,
  defaultAttachmentName,
  formatBytes,
  limitFor,
  mediaTypeOf,
  type StoredAttachment,
} from '@app/core';
import { type StepContext, type WorkflowContext } from '@app/engine';
import { type AgentMedia } from './agent-media';

/**
 * One attachment after its step: stored (with its hash) and, for a text file, its text.
 * `problem` says, in words for the person, why the model cannot use it.
 */
export interface PreparedAttachment {
  id: string;
  kind: AttachmentRef['kind'];
  name: string;
  mime: string;
  size: number | null;
  use: AttachmentUse | null;
  stored: StoredAttachment | null;
  text?: string;
  truncated?: boolean;
  problem?: string;
}

/** What the model can take, said once in every refusal. */
export const CAN_READ =
  'I can read images, text files (text, Markdown, JSON, CSV, code) and voice or audio messages';

function describe(p: Pick<PreparedAttachment, 'name' | 'mime'>): string {
  return `${p.name} (${p.mime})`;
}

/**
 * Fetches an attachment through its channel, stores it, and reads a text file's text,
 * as one recorded step named after the attachment: a replay returns the record, a crash
 * mid-way fetches again and `put` keeps one copy (its id is the event's). A refusal (too
 * large, an unknown type, gone at the provider) is the step's answer, not a failure; a
 * provider that is down fails the step, which is retried.
 */
export function prepareAttachment(
  ctx: WorkflowContext,
  media: AgentMedia,
  ref: AttachmentRef,
): Promise<PreparedAttachment> {
  return ctx.step(`attachment:${ref.id}`, (step) => fetchAndStore(step, media, ref));
}

async function fetchAndStore(
  step: StepContext,
  media: AgentMedia,
  ref: AttachmentRef,
): Promise<PreparedAttachment> {
  const mime = mediaTypeOf(ref.mime, ref.name);
  const name = ref.name ?? defaultAttachmentName(ref.kind, mime);
  const use = attachmentUse(mime, name);
  const base = { id: ref.id, kind: ref.kind, name, mime, size: ref.size, use, stored: null };
  const { limits } = media;
  const tooLarge = (size: number | null) =>
    `${describe(base)} is ${size === null ? 'larger than' : `${formatBytes(size)}, more than`} the ${formatBytes(limitFor(use, limits))} I can take`;
  if (ref.size !== null && ref.size > limitFor(use, limits))
    return { ...base, problem: tooLarge(ref.size) };
  const fetcher = media.fetchers.find((f) => f.channel === ref.channel);
  if (!fetcher)
    return {
      ...base,
      problem: `I cannot download files from ${ref.channel}, so I could not open ${describe(base)}`,
    };
  let data: Uint8Array;
  try {
    data = await fetcher.fetch(ref, {
      maxBytes: limitFor(use, limits),
      signal: AbortSignal.any([step.signal, AbortSignal.timeout(limits.fetchTimeout)]),
    });
  } catch (err) {
    if (!(err instanceof AttachmentFetchError) || err.retryable) throw err;
    if (err.reason === 'too_large') return { ...base, problem: tooLarge(null) };
    return {
      ...base,
      problem: `I could not download ${describe(base)}: it is no longer available`,
    };
  }
  const stored = await media.store.put(ref.id, data, { mime, name });
  const prepared: PreparedAttachment = { ...base, size: stored.size, stored };
  if (!use) return { ...prepared, problem: `I cannot read ${describe(base)}: ${CAN_READ}` };
  if (use !== 'text') return prepared;
  const decoded = decodeTextFile(new TextDecoder('utf-8').decode(data), limits.textMaxChars);
  if ('binary' in decoded)
    return { ...prepared, use: null, problem: `${describe(base)} does not contain readable text` };
  return { ...prepared, text: decoded.text, truncated: decoded.truncated };
}
