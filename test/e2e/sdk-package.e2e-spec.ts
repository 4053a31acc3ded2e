import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ApiTokenRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { REPO_ROOT } from '@test/paths';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/*
 * The published shape of @workgate/sdk: built and packed (`npm pack`), unpacked into a
 * project outside the repository, used from TypeScript that imports only
 * `@workgate/sdk`, type-checked and compiled with tsc, and run as the project's own
 * worker against a real gateway. The project's other packages are the repository's
 * node_modules, linked one by one (no network); `@workgate/sdk` is the tarball alone.
 */

const WORKFLOWS_TS = `
import { z } from 'zod';
import { defineTool, defineWorkflow, NonRetryableError } from '@workgate/sdk';

export const greet = defineWorkflow(
  'sdk-greet',
  async (ctx, input) => {
    const line = await ctx.step('compose', () => \`hello \${input.name}\`);
    await ctx.sleep('200ms');
    if (input.name === 'nobody') throw new NonRetryableError('no one to greet', 'nobody');
    return { line, length: line.length };
  },
  { input: z.object({ name: z.string().min(1) }), description: 'greets someone' },
);

export const lookup = defineTool({
  name: 'lookup_order',
  description: 'Looks an order up by id',
  parameters: z.object({ id: z.string() }),
  run: async ({ id }) => ({ id, status: 'shipped' }),
});
`;

const WORKER_TS = `
import { createWorker, migrate } from '@workgate/sdk';
import { greet, lookup } from './workflows';

async function main(): Promise<void> {
  await migrate();
  const worker = await createWorker({ workflows: [greet], tools: [lookup] });
  console.log(JSON.stringify({ msg: 'sdk worker ready', concurrency: worker.config.worker.concurrency }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const DRIVE_TS = `
import { WorkgateApiError, WorkgateClient } from '@workgate/sdk/client';

async function main(): Promise<void> {
  const client = new WorkgateClient({ url: process.env.GATEWAY!, token: process.env.TOKEN! });
  let refused = '';
  try {
    await client.start('sdk-greet', { name: '' });
  } catch (err) {
    if (!(err instanceof WorkgateApiError)) throw err;
    refused = (err.problem.errors ?? []).map((e) => e.path).join(',');
  }
  const { work, created } = await client.start('sdk-greet', { name: 'ana' }, { idempotencyKey: 'drive-1' });
  const again = await client.start('sdk-greet', { name: 'ana' }, { idempotencyKey: 'drive-1' });
  const result = await client.waitForResult(work.id, 60_000);
  const page = await client.list({ kind: 'sdk-greet' });
  console.log(JSON.stringify({ refused, created, again: again.created, sameWork: again.work.id === work.id, result, listed: page.items.length }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
`;

describe('@workgate/sdk as a packed package in a project of its own', () => {
  let project: string;
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: ChildProcess | undefined;
  let token: string;
  const output: string[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-sdk.mjs')], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
    project = mkdtempSync(join(tmpdir(), 'wg-sdk-user-'));
    execFileSync('npm', ['pack', '--pack-destination', project, '--silent'], {
      cwd: join(REPO_ROOT, 'libs', 'sdk', 'build'),
      stdio: 'pipe',
    });
    const modules = join(project, 'node_modules');
    mkdirSync(join(modules, '@workgate'), { recursive: true });
    for (const name of readdirSync(join(REPO_ROOT, 'node_modules'))) {
      if (name === '@workgate' || name.startsWith('.')) continue;
      symlinkSync(join(REPO_ROOT, 'node_modules', name), join(modules, name));
    }
    execFileSync('tar', ['xzf', 'workgate-sdk-0.1.0.tgz', '-C', join(modules, '@workgate')], {
      cwd: project,
    });
    execFileSync('mv', [join(modules, '@workgate', 'package'), join(modules, '@workgate', 'sdk')]);
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'workflows.ts'), WORKFLOWS_TS);
    writeFileSync(join(project, 'src', 'worker.ts'), WORKER_TS);
    writeFileSync(join(project, 'src', 'drive.ts'), DRIVE_TS);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'my-workflows', private: true, type: 'commonjs' }),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: true,
          outDir: 'dist',
          rootDir: 'src',
          types: ['node'],
        },
        include: ['src'],
      }),
    );

    db = await createTestSchema('sdk_package');
    prefix = testQueuePrefix();
    gw = await startGateway(testConfig({ schema: db.schema, prefix }));
    token = (await gw.app.get(ApiTokenRepository).create('sdk', 'operator')).token;
  }, 240_000);

  afterAll(async () => {
    if (worker?.pid && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await until(
        () => worker!.exitCode !== null || worker!.signalCode !== null,
        'the SDK worker to stop',
        20_000,
      );
    }
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('has no monorepo alias left in its code or types, and declares what it requires', () => {
    const sdk = join(project, 'node_modules', '@workgate', 'sdk');
    const manifest = JSON.parse(readFileSync(join(sdk, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@workgate/sdk');
    expect(Object.keys(manifest.exports)).toContain('.');
    const offenders = filesUnder(sdk).filter(
      (f) => /\.(js|d\.ts)$/.test(f) && /["']@app\//.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('type-checks and compiles a user project that imports only @workgate/sdk', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = () => {
      try {
        execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, stdio: 'pipe' });
      } catch (err) {
        throw new Error(String((err as { stdout?: Buffer }).stdout ?? err));
      }
    };
    // A type error in the user's workflow is caught against the SDK's declarations.
    writeFileSync(
      join(project, 'src', 'broken.ts'),
      `import { defineWorkflow } from '@workgate/sdk';\nexport const w = defineWorkflow('b', async (ctx) => ctx.sleep(42n));\n`,
    );
    expect(run).toThrow(/broken\.ts.*bigint/is);
    rmSync(join(project, 'src', 'broken.ts'));
    expect(run).not.toThrow();
  });

  it('runs the project’s worker, whose kinds the gateway checks and starts, to a completed work', async () => {
    worker = spawn(process.execPath, [join(project, 'dist', 'worker.js')], {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: TEST_DATABASE_URL,
        WORKGATE_DB_SCHEMA: db.schema,
        REDIS_URL: TEST_REDIS_URL,
        WORKGATE_QUEUE_PREFIX: prefix,
        WORKER_METRICS_PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
    worker.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    await until(
      () => output.join('').includes('sdk worker ready'),
      'the SDK worker to start',
      60_000,
    );

    // The project's own script drives it through the typed client (`@workgate/sdk/client`).
    // Asynchronous: the gateway answering it runs in this process.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(project, 'dist', 'drive.js')],
      {
        cwd: project,
        env: { PATH: process.env.PATH ?? '', GATEWAY: gw.url, TOKEN: token },
      },
    );
    const driven = JSON.parse(stdout);
    expect(driven).toMatchObject({
      refused: 'input.name',
      created: true,
      again: false,
      sameWork: true,
      listed: 1,
      result: { state: 'COMPLETED', done: true, output: { line: 'hello ana', length: 9 } },
    });
  });
});
