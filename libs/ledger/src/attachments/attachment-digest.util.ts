import { createHash } from 'node:crypto';
import { type StoredAttachment } from '@app/core';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What a store records of a file it keeps: its id, hash, type, size and name. */
export function describeAttachment(
  id: string,
  data: Uint8Array,
  meta: { mime: string; name: string },
): StoredAttachment {
  return { id, sha256: sha256Hex(data), mime: meta.mime, size: data.byteLength, name: meta.name };
}

/**
 * Bytes read back must be the bytes stored: a truncated file on disk or a row edited by
 * hand is an error, not a silently different image given to the model or sent to a chat.
 */
export function assertIntact(meta: StoredAttachment, data: Uint8Array): void {
  const actual = sha256Hex(data);
  if (actual !== meta.sha256)
    throw new Error(
      `attachment ${meta.id}: stored bytes hash to ${actual}, not the recorded ${meta.sha256}`,
    );
}
