import { createHash } from 'node:crypto';
import { type StoredAttachment } from '@app/core';

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
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
