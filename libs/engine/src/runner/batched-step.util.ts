import { createHash } from 'node:crypto';
import { stepIdempotencyKey } from '@app/core';

/**
 * A `batched` step's id, derived from its work, the work's step epoch and its position.
 * Such a step has no row until its checkpoint commits, so nothing random drawn while it
 * ran survives a crash: the run that takes over must reach the same id — and with it the
 * same idempotency key — from what is committed. The epoch moves on whenever recorded
 * steps are discarded (rerun from a step, an interrupt restart), so a position taken
 * again after a rewind is a new step with a new key, as a `step` step's would be.
 *
 * Shaped as a UUID (the column's type): SHA-256 of the three, version nibble 8
 * ("custom", RFC 9562) and the RFC 4122 variant, so it never collides with a v4 or v7 id.
 */
export function batchedStepId(workId: string, stepEpoch: number, seq: number): string {
  const hash = createHash('sha256').update(`${workId}:${stepEpoch}:${seq}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x80;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id and idempotency key of a batched step (the key has a `step` step's shape). */
export function batchedStepIdentity(
  workId: string,
  stepEpoch: number,
  seq: number,
): { id: string; idempotencyKey: string } {
  const id = batchedStepId(workId, stepEpoch, seq);
  return { id, idempotencyKey: stepIdempotencyKey(workId, seq, id) };
}
