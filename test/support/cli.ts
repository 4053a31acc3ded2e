import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DIST, REPO_ROOT } from './paths';

/** The built `workgate` CLI (run `npm run build` first; the e2e scripts do). */
export const CLI = join(DIST, 'apps', 'cli', 'src', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The built CLI as a real child process, with only PATH and HOME from this process plus
 * `env`. Asynchronous, so a gateway running in this process can answer it.
 */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
        timeout: 30_000,
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout,
          stderr,
        }),
    );
  });
}
