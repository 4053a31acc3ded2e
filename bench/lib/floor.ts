import { Redis } from 'ioredis';
import { type Client } from 'pg';
import { summarize } from './stats';

export interface Floor {
  /** `SELECT 1`: a round trip to PostgreSQL with nothing to do. */
  read: ReturnType<typeof summarize>;
  /** A one-row INSERT in autocommit: a round trip, a WAL record and the commit's flush. */
  commit: ReturnType<typeof summarize>;
  /** One Redis SET: the round trip under a BullMQ `add`. */
  redis: ReturnType<typeof summarize>;
  /** read + commit + redis, sample by sample: what a routed reply's three round trips cost at the least. */
  sum: ReturnType<typeof summarize>;
}

/**
 * The floor under a routed reply on this machine, measured in the same run as the
 * routing (docs/performance.md, "Many waiting works"): a correlated reply is one read,
 * one written statement with its commit and one enqueue, so its latency cannot be less
 * than those three bare round trips, and their tails (the WAL flush on a virtual disk,
 * a vCPU taken away) are its tail. `db` runs in the scenario's own schema, which the
 * scenario drops with the probe table in it.
 */
export async function roundTripFloor(db: Client, redisUrl: string, n: number): Promise<Floor> {
  await db.query(
    'CREATE TABLE bench_commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())',
  );
  const redis = new Redis(redisUrl);
  const read: number[] = [];
  const commit: number[] = [];
  const set: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await db.query('SELECT 1');
      read.push(performance.now() - t);
      t = performance.now();
      await db.query('INSERT INTO bench_commit_probe DEFAULT VALUES');
      commit.push(performance.now() - t);
      t = performance.now();
      await redis.set('bench:floor-probe', i);
      set.push(performance.now() - t);
    }
    await redis.del('bench:floor-probe');
  } finally {
    redis.disconnect();
  }
  return {
    read: summarize(read),
    commit: summarize(commit),
    redis: summarize(set),
    sum: summarize(read.map((r, i) => r + commit[i]! + set[i]!)),
  };
}
