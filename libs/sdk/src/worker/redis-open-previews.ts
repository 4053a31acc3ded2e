import { type OpenPreviews, type PreviewMessageRef } from '@app/core';
import { type RedisClient } from '@app/engine';

/** A left-behind preview is deleted by the work's next run, if any: after a day, nobody will. */
const KEEP_SECONDS = 24 * 60 * 60;

/**
 * Open preview messages per work in one Redis set (`<prefix>:previews:<workId>`; one
 * key per command, so it works on a Cluster). Redis, not the ledger: this is not a
 * record anybody was promised — if Redis loses it, a dead worker's preview message
 * stays in the chat, and nothing else changes.
 */
export class RedisOpenPreviews implements OpenPreviews {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(workId: string): string {
    return `${this.prefix}:previews:${workId}`;
  }

  async add(workId: string, preview: PreviewMessageRef): Promise<void> {
    const key = this.key(workId);
    await this.redis.sadd(key, encode(preview));
    await this.redis.expire(key, KEEP_SECONDS);
  }

  async remove(workId: string, preview: PreviewMessageRef): Promise<void> {
    await this.redis.srem(this.key(workId), encode(preview));
  }

  async take(workId: string): Promise<PreviewMessageRef[]> {
    // SPOP with a count hands each member out once, even to two runs asking at once.
    const members = await this.redis.spop(this.key(workId), 1_000);
    return members.flatMap((m) => decode(m));
  }
}

/** The same preview always encodes the same way (SREM finds what SADD stored). */
function encode(p: PreviewMessageRef): string {
  return JSON.stringify([p.channel, p.target, p.thread ?? null, p.message]);
}

function decode(member: string): PreviewMessageRef[] {
  try {
    const [channel, target, thread, message] = JSON.parse(member) as [
      string,
      string,
      string | null,
      string,
    ];
    return [{ channel, target, ...(thread ? { thread } : {}), message }];
  } catch {
    return [];
  }
}
