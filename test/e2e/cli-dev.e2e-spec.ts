import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@test/cli';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '@test/env';
import { DIST } from '@test/paths';
import { spawnApp, type AppProcess } from '@test/processes';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';

/** A user's TypeScript workflow file (type annotations: it only loads through tsx). */
function workflowSource(greeting: string): string {
  return `
import { defineWorkflow } from ${JSON.stringify(join(DIST, 'libs', 'engine', 'src'))};

const greeting: string = ${JSON.stringify(greeting)};

export const hello = defineWorkflow('dev-hello', async (ctx, input: { name: string }) => {
  const line = await ctx.step('compose', (): string => \`\${greeting} \${input.name}\`);
  return { line };
});
`;
}

describe('workgate dev', () => {
  let db: TestSchema;
  let prefix: string;
  let dir: string;
  let dev: AppProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestSchema('cli_dev');
    prefix = testQueuePrefix();
    dir = mkdtempSync(join(tmpdir(), 'wg-dev-'));
    // A config of its own: the repository's names workflow kinds this worker does not run.
    writeFileSync(join(dir, 'workgate.config.yaml'), '{}\n');
    env = {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      REDIS_URL: TEST_REDIS_URL,
      WORKGATE_QUEUE_PREFIX: prefix,
      WORKGATE_CONFIG: join(dir, 'workgate.config.yaml'),
      PORT: '0',
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    if (dev) await dev.stop('SIGTERM');
    await deleteKeys(prefix);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs TypeScript workflows and reloads the worker when the file changes', async () => {
    const file = join(dir, 'workflows.ts');
    writeFileSync(file, workflowSource('hello'));
    const created = await runCli(
      ['tokens', 'create', '--name', 'dev', '--role', 'operator', '--json'],
      env,
    );
    expect(created.code).toBe(0);
    const token = (JSON.parse(created.stdout) as { token: string }).token;

    dev = spawnApp('cli', env, ['dev', '--workflows', file]);
    const listening = await dev.waitForLog(
      (l) => l.msg === 'gateway listening',
      'the gateway to listen',
      60_000,
    );
    const url = String(listening.url).replace('[::1]', '127.0.0.1');
    await dev.waitForLog(
      (l) => l.msg === 'workflows registered' && JSON.stringify(l.workflows).includes('dev-hello'),
      'the worker to register dev-hello',
      60_000,
    );

    const run = async (name: string) => {
      const started = await fetch(`${url}/api/v1/works`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'dev-hello', input: { name } }),
      });
      expect(started.status).toBe(201);
      const { work } = (await started.json()) as { work: { id: string } };
      const result = await fetch(`${url}/api/v1/works/${work.id}/result?wait=20s`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return (await result.json()) as { state: string; output: unknown };
    };
    expect(await run('ana')).toMatchObject({ state: 'COMPLETED', output: { line: 'hello ana' } });

    const registered = dev.logs.filter((l) => l.msg === 'workflows registered').length;
    writeFileSync(file, workflowSource('bonjour'));
    await until(
      () => dev!.logs.filter((l) => l.msg === 'workflows registered').length > registered,
      'the worker to restart after the edit',
      60_000,
    );
    expect(dev.logs.some((l) => String(l.msg).includes('restarting the worker'))).toBe(true);
    expect(await run('bo')).toMatchObject({
      state: 'COMPLETED',
      output: { line: 'bonjour bo' },
    });
  }, 180_000);
});
