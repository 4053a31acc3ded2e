/**
 * Which of `shards` queues a job about `key` goes to: FNV-1a (32 bit) over the key's
 * UTF-16 code units, finished with murmur3's mixer, modulo the shard count. Stable across processes, versions and
 * platforms (no seed, no runtime hash), so a gateway, a worker and the reconciler all
 * name the same shard for the same id as long as they agree on the count.
 */
export function shardOf(key: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be >= 1, got ${shards}`);
  if (shards === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // FNV's low bits depend only on the low bits of each character (its prime is odd), so
  // modulo a power of two it barely spreads; murmur3's finalizer mixes every bit down.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % shards;
}
