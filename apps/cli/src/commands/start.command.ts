import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command } from 'commander';
import { EXIT } from '../exit-codes';

/** dist/apps/cli/src → dist/apps/<app>/src/main.js */
function entry(app: 'gateway' | 'worker'): string {
  return join(__dirname, '..', '..', '..', app, 'src', 'main.js');
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the gateway and the worker together in the foreground (Ctrl-C stops both)')
    .option('--no-worker', 'run only the gateway')
    .option('--no-gateway', 'run only the worker')
    .action((opts: { worker: boolean; gateway: boolean }) => {
      const apps = (['gateway', 'worker'] as const).filter((a) => opts[a]);
      for (const app of apps) {
        if (!existsSync(entry(app))) {
          console.error(`[start] ${entry(app)} is missing; run npm run build first`);
          process.exitCode = EXIT.usage;
          return;
        }
      }
      const children = new Map<string, ChildProcess>();
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        for (const child of children.values()) child.kill(signal);
      };
      for (const app of apps) {
        const child = spawn(process.execPath, [entry(app)], { stdio: 'inherit' });
        children.set(app, child);
        child.on('exit', (code, signal) => {
          children.delete(app);
          if (!stopping) {
            console.error(`[start] ${app} exited (${signal ?? code}); stopping the rest`);
            process.exitCode = code || EXIT.failed;
            stop('SIGTERM');
          }
          if (children.size === 0) process.exit(process.exitCode ?? EXIT.ok);
        });
      }
      process.on('SIGINT', () => stop('SIGTERM'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      console.log(
        `[start] running ${apps.join(' and ')} (pids ${[...children.values()].map((c) => c.pid).join(', ')})`,
      );
    });
}
