import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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

    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as any };
    };
    const refused = await call('POST', '/api/v1/works', { kind: 'sdk-greet', input: { name: '' } });
    expect(refused.status).toBe(400);
    expect(refused.json.errors).toEqual([expect.objectContaining({ path: 'input.name' })]);

    const started = await call('POST', '/api/v1/works', {
      kind: 'sdk-greet',
      input: { name: 'ana' },
    });
    expect(started.status).toBe(201);
    const result = await call('GET', `/api/v1/works/${started.json.work.id}/result?wait=30s`);
    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({
      state: 'COMPLETED',
      output: { line: 'hello ana', length: 9 },
    });
  });
});
