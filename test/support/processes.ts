import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './paths';
import { until } from './until';

const ROOT = REPO_ROOT;

export interface AppProcess {
  child: ChildProcess;
  /** Every JSON log line the process printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw output that was not JSON (stack traces, console errors). */
  text: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Waits for a log line. `cpuBudgetMs` is the process's own CPU time, not wall time:
   * on a machine other jobs saturate, a start that needs two seconds of CPU can take
   * twenty on the clock, and a wall deadline then measures the load, not the process.
   * It fails at once if the process exits, when it has used its CPU budget without
   * printing the line, or at WALL_BOUND_MS (a process stuck without using any CPU).
   */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    what: string,
    cpuBudgetMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Under jest's 120 s per test: the bound for a process that waits without using CPU. */
const WALL_BOUND_MS = 110_000;

/**
 * CPU time (user + system) a process has used, from /proc (Linux reports it in
 * USER_HZ, 100 a second); 0 where /proc is not there, which leaves the wall bound.
 */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, in parentheses): utime, stime
    // are the 14th and 15th of the line, the 12th and 13th after ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Runs a built app (dist/apps/<app>/src/main.js) as a real child process. */
export function spawnApp(
  app: 'gateway' | 'worker' | 'cli',
  env: Record<string, string>,
  args: string[] = [],
): AppProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'dist', 'apps', app, 'src', 'main.js'), ...args],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        // Parallel test files' workers would all want the default metrics port.
        WORKER_METRICS_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  // Line framing by readline: a pipe hands over chunks that may end inside a line (a
  // slow reader on a loaded machine gets many lines at once, cut anywhere), and a
  // line parsed in two halves would be lost to waitForLog.
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (!line.trim()) return;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        text.push(line);
      }
    });
  }
  // 'close' comes after the output streams have ended, so every line is in by then.
  let closed = false;
  child.once('close', () => (closed = true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    logs,
    text,
    exited,
    async waitForLog(predicate, what, cpuBudgetMs = 15_000) {
      const cpuAtStart = cpuMsOf(child.pid);
      const outcome = await until(
        () => {
          const line = logs.find(predicate);
          if (line) return { line };
          if (closed)
            return { failed: `it exited (code ${child.exitCode}, signal ${child.signalCode})` };
          const used = cpuMsOf(child.pid) - cpuAtStart;
          if (used > cpuBudgetMs) return { failed: `it used ${used} ms of CPU without it` };
          return null;
        },
        `${app} to log ${what} (output so far: ${text.slice(-5).join(' | ')})`,
        WALL_BOUND_MS,
      );
      if ('failed' in outcome)
        throw new Error(
          `${app} did not log ${what}: ${outcome.failed} (output so far: ${text.slice(-5).join(' | ')})`,
        );
      return outcome.line;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
