import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachPostgres, type DisposablePostgres, freePort } from '../disposable-services';

/**
 * A hot standby of a disposable PostgreSQL: `pg_basebackup -R` (which writes
 * primary_conninfo and standby.signal) into a fresh directory, started on a free port,
 * streaming from the primary. initdb's default pg_hba already trusts replication
 * connections from 127.0.0.1, and wal_level = replica is the default.
 */
export async function startStreamingReplica(
  primary: DisposablePostgres,
): Promise<DisposablePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'wg-pg-replica-'));
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const bin = '/usr/lib/postgresql/15/bin/pg_basebackup';
  const args = ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres'];
  // A fast checkpoint: the default (spread) waits most of checkpoint_timeout for it.
  const backup = [
    ...args,
    '-D',
    join(dir, 'data'),
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ];
  const res = asPostgres
    ? spawnSync('runuser', ['-u', 'postgres', '--', bin, ...backup], { encoding: 'utf8' })
    : spawnSync(bin, backup, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`pg_basebackup failed: ${res.stderr || res.stdout}`);
  const replica = attachPostgres(dir, await freePort());
  replica.start();
  return replica;
}
