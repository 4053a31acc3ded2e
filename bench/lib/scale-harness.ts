import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Markdown sections a scenario adds to the result file (EXPLAIN plans, notes). */
const appendix: string[] = [];

export function addAppendix(title: string, markdown: string): void {
  appendix.push(`## ${title}\n\n${markdown}\n`);
}

/** The sections added so far, emptied (bench/run.ts writes them under the table). */
export function takeAppendix(): string {
  return appendix.splice(0).join('\n');
}

/** A config file for a spawned app (the worker's lease and reconcile period, webhook sources). */
export function writeConfigFile(label: string, config: Record<string, unknown>): string {
  const path = join(tmpdir(), `workgate-bench-${label}-${process.pid}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/** Resident memory of a process, from /proc (Linux): VmRSS in MiB. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

/**
 * SQL for a deterministic UUID from a text expression, shaped like the ledger's UUIDv7
 * ids (version 7, RFC variant): the job payload schemas check both.
 */
export function uuidSql(text: string): string {
  const h = `md5(${text})`;
  return `(substr(${h}, 1, 12) || '7' || substr(${h}, 14, 3) || '8' || substr(${h}, 18, 15))::uuid`;
}
