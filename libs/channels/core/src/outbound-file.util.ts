import {
  type AttachmentStore,
  mediaTypeOf,
  OutboundError,
  type OutboundFile,
  type OutboundPayload,
} from '@app/core';

/** A file ready to upload: its bytes, name and type. */
export interface ResolvedFile {
  data: Buffer;
  name: string;
  mime: string;
}

/** The `file` of a message payload, when it has one that looks like an OutboundFile. */
export function outboundFileOf(payload: OutboundPayload): OutboundFile | null {
  if (payload.kind !== 'message') return null;
  const file = payload.file as Partial<Record<string, unknown>> | undefined;
  if (!file || typeof file !== 'object') return null;
  if (typeof file.id === 'string') return file as OutboundFile;
  if (typeof file.name === 'string' && typeof file.data === 'string') return file as OutboundFile;
  throw new OutboundError('message.file needs an attachment id, or a name and base64 data', false);
}

/**
 * The bytes of an outbound file: from the attachment store by id (checked against its
 * hash there), or inline base64 in the payload. A missing store or attachment is not
 * worth retrying: the same delivery would miss it again.
 */
export async function resolveOutboundFile(
  file: OutboundFile,
  store: AttachmentStore | undefined,
): Promise<ResolvedFile> {
  if ('data' in file) {
    const data = Buffer.from(file.data, 'base64');
    return { data, name: file.name, mime: mediaTypeOf(file.mime ?? null, file.name) };
  }
  if (!store) throw new OutboundError('no attachment store is configured for file messages', false);
  const got = await store.get(file.id);
  if (!got) throw new OutboundError(`attachment ${file.id} is not in the attachment store`, false);
  const name = file.name ?? got.meta.name;
  return {
    data: Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength),
    name,
    mime: file.mime ?? got.meta.mime,
  };
}
