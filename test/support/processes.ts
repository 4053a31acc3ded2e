import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
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
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
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
  const onData = (buf: Buffer) => {
    for (const line of buf.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        text.push(line);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    logs,
    text,
    exited,
    waitForLog: (predicate, what, timeoutMs = 15_000) =>
      until(
        () => logs.find(predicate),
        `${app} to log ${what} (output so far: ${text.slice(-5).join(' | ')})`,
        timeoutMs,
      ),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
