import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type Command } from 'commander';
import { EXIT } from '../exit-codes';
import { prettyLogLine } from '../output/pretty-log';

/** dist/apps/cli/src → dist/apps/<app>/src/main.js */
function entry(app: 'gateway' | 'worker'): string {
  return join(__dirname, '..', '..', '..', app, 'src', 'main.js');
}

const RELOAD_DEBOUNCE_MS = 200;
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

interface DevOptions {
  workflows: string[];
  gateway: boolean;
  pretty?: boolean;
}

/**
 * `workgate dev`: the gateway, and a worker that loads the user's TypeScript workflow
 * modules through tsx (its require hook: the worker loads modules with require()),
 * restarted when a file under their folders changes. The gateway is not restarted: it
 * runs no workflow code, and the restarted worker registers the kinds again.
 */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run the gateway and a worker on your TypeScript workflows, reloading on change')
    .requiredOption(
      '--workflows <paths...>',
      'workflow modules (.ts or .js), e.g. ./src/workflows.ts',
    )
    .option('--no-gateway', 'run only the worker')
    .option('--pretty', 'human-readable logs (the default when stdout is a terminal)')
    .action((opts: DevOptions) => {
      const modules = opts.workflows.map((p) => resolve(p));
      const missing = [entry('worker'), ...modules].filter((f) => !existsSync(f));
      if (opts.gateway && !existsSync(entry('gateway'))) missing.push(entry('gateway'));
      if (missing.length) {
        console.error(`[dev] missing: ${missing.join(', ')} (npm run build for the apps)`);
        process.exitCode = EXIT.usage;
        return;
      }
      new DevSupervisor(modules, opts.gateway, opts.pretty ?? process.stdout.isTTY).run();
    });
}

class DevSupervisor {
  private readonly children = new Map<'gateway' | 'worker', ChildProcess>();
  private readonly watchers: FSWatcher[] = [];
  private stopping = false;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> | null = null;

  constructor(
    private readonly modules: string[],
    private readonly withGateway: boolean,
    private readonly pretty: boolean,
  ) {}

  run(): void {
    if (this.withGateway) this.spawn('gateway');
    this.spawn('worker');
    for (const dir of new Set(this.modules.map((m) => dirname(m)))) {
      // Recursive: a workflow module imports its neighbours (Linux has it since Node 20).
      const watcher = watch(dir, { recursive: true }, (_event, file) => {
        // Source files only: not node_modules, a build, or a loader's cache beside them.
        if (file && (/(^|[/\\])(node_modules|dist)([/\\]|$)/.test(file) || !SOURCE.test(file)))
          return;
        this.scheduleReload(file ?? dir);
      });
      this.watchers.push(watcher);
    }
    process.on('SIGINT', () => this.stop());
    process.on('SIGTERM', () => this.stop());
    this.say(`watching ${this.modules.join(', ')}; the worker restarts when they change`);
  }

  private say(msg: string): void {
    console.log(
      this.pretty
        ? `[dev] ${msg}`
        : JSON.stringify({ level: 30, time: Date.now(), msg, app: 'dev' }),
    );
  }

  private spawn(app: 'gateway' | 'worker'): void {
    const args =
      app === 'worker' ? ['--require', require.resolve('tsx/cjs'), entry(app)] : [entry(app)];
    // The children read their configuration from the environment as `workgate start`'s
    // do; dev passes it through and adds only the workflow modules.
    /* eslint-disable no-restricted-properties */
    const env =
      app === 'worker'
        ? { ...process.env, WORKGATE_WORKFLOWS: this.modules.join(',') }
        : process.env;
    /* eslint-enable no-restricted-properties */
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(app, child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) =>
        (stream === child.stderr ? process.stderr : process.stdout).write(
          `${this.pretty ? prettyLogLine(line, app) : line}\n`,
        ),
      );
    }
    child.on('exit', (code, signal) => {
      if (this.children.get(app) === child) this.children.delete(app);
      if (this.stopping) {
        if (this.children.size === 0) process.exit(process.exitCode ?? EXIT.ok);
        return;
      }
      // A worker that dies on a syntax error waits for the next save; the gateway does not.
      if (app === 'worker' && !this.reloading)
        this.say(`worker exited (${signal ?? code}); fix the code and save to restart it`);
      if (app === 'gateway') {
        this.say(`gateway exited (${signal ?? code}); stopping`);
        process.exitCode = code || EXIT.failed;
        this.stop();
      }
    });
  }

  private scheduleReload(file: string): void {
    if (this.stopping) return;
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    // Editors write a file in several events (truncate, write, rename): one restart for all.
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      void this.reload(file);
    }, RELOAD_DEBOUNCE_MS);
  }

  private async reload(file: string): Promise<void> {
    if (this.reloading) await this.reloading;
    this.reloading = (async () => {
      this.say(`${file} changed; restarting the worker`);
      const old = this.children.get('worker');
      if (old && old.exitCode === null && old.signalCode === null) {
        const exited = new Promise<void>((r) => old.once('exit', () => r()));
        // SIGTERM: the worker finishes its runs in flight; the ledger keeps the rest.
        old.kill('SIGTERM');
        await exited;
      }
      if (!this.stopping) this.spawn('worker');
    })();
    try {
      await this.reloading;
    } finally {
      this.reloading = null;
    }
  }

  private stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const w of this.watchers) w.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    if (this.children.size === 0) process.exit(process.exitCode ?? EXIT.ok);
    for (const child of this.children.values()) child.kill('SIGTERM');
  }
}
