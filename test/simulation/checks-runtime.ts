import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Client } from 'pg';
import { type CheckInput } from './checker';
import { type Cluster } from './cluster';
import { type Stall } from './faults';

/**
 * The checks on what is running rather than on what was recorded: live works that
 * nothing will move, processes that died by themselves, deadlocks in any log, and lease
 * recovery that stalled while a worker was up (sampled during the faults).
 */

type Flag = (kind: string, workId: string | null, detail: string) => void;

/** Each live work has an open wait, a queued job (work or wake), a live lease, or is PAUSED. */
export async function checkLive(
  db: Client,
  cluster: Cluster,
  live: Array<{ id: string; state: string; runSeq: number; leaseLive: boolean }>,
  flag: (workId: string, detail: string) => void,
  count: () => void,
): Promise<void> {
  if (!live.length) return;
  const openWaits = new Set(
    (
      await db.query<{ workId: string }>(
        `SELECT DISTINCT "workId" FROM "Wait" WHERE status = 'open'`,
      )
    ).rows.map((r) => r.workId),
  );
  const connection = new Redis(cluster.services.redis.url, { maxRetriesPerRequest: 1 });
  const jobs = new Set<string>();
  try {
    for (const name of ['work', 'wake']) {
      const queue = new Queue(name, { connection, prefix: cluster.prefix });
      for (const j of await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']))
        if (j?.id) jobs.add(j.id);
      await queue.close();
    }
  } finally {
    connection.disconnect();
  }
  for (const w of live) {
    count();
    const queued = jobs.has(`work:${w.id}:${w.runSeq}`) || [...jobs].some((j) => j.includes(w.id));
    if (w.state === 'PAUSED' || openWaits.has(w.id) || w.leaseLive || queued) continue;
    flag(
      w.id,
      `${w.state} with no open wait, no queued job and no live lease: nothing will move it`,
    );
  }
}

/** Returns how many checks it made. */
export function checkProcesses(input: CheckInput, flag: Flag): number {
  const { cluster } = input;
  let checks = 0;
  for (const c of cluster.crashes)
    flag(
      'process-crashed',
      null,
      `${c.proc} exited by itself (code ${c.code}, signal ${c.signal}): ${c.tail.join(' | ').slice(0, 600)}`,
    );
  checks++;
  const pgLog = join(cluster.services.pg.dir, 'log');
  const logText = existsSync(pgLog) ? readFileSync(pgLog, 'utf8').slice(input.pgLogFrom) : '';
  const deadlocks = [...cluster.allOutput(), ...logText.split('\n')].filter((l) =>
    /40P01|deadlock detected/.test(l),
  );
  checks++;
  if (deadlocks.length)
    flag(
      'deadlock',
      null,
      `${deadlocks.length} deadlock report(s): ${deadlocks[0]!.slice(0, 300)}`,
    );
  // Samples a second apart belong to one incident: one finding per incident.
  const incidents: Stall[][] = [];
  for (const st of input.stalls) {
    const last = incidents[incidents.length - 1];
    if (last && st.at - last[last.length - 1]!.at < 1_500) last.push(st);
    else incidents.push([st]);
  }
  for (const incident of incidents) {
    const works = [...new Set(incident.flatMap((st) => st.works))];
    const seconds = ((incident[incident.length - 1]!.at - incident[0]!.at) / 1000 + 1).toFixed(1);
    flag(
      'lease-recovery-stalled',
      works[0] ?? null,
      `${works.length} work(s) stayed RUNNING on leases expired >3s ago for ~${seconds}s while a worker was up and unfrozen: ${works.slice(0, 3).join(',')}`,
    );
  }
  checks++;
  return checks;
}
