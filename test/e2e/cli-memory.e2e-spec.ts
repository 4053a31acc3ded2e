import { type CliRun, runCli } from '@test/cli';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';

const OPERATOR = 'wg_TEST_ONLY-cli-memory-operator';

/** `workgate memory ls|show|forget`: the built CLI over the operator API. */
describe('workgate memory (CLI over the operator API)', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;

  const cli = (args: string[]): Promise<CliRun> =>
    runCli(args, {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      WORKGATE_URL: gw.url,
      WORKGATE_TOKEN: OPERATOR,
    });

  beforeAll(async () => {
    db = await createTestSchema('cli_memory');
    prefix = testQueuePrefix();
    gw = await startGateway(
      testConfig({ schema: db.schema, prefix, env: { WORKGATE_API_TOKEN: OPERATOR } }),
    );
    // What conversations would have written (the assistant's side is agent-memory.e2e-spec).
    await db.query(
      `INSERT INTO "PersonMemory" (person, channel, source, summary, version)
       VALUES ('telegram:main:42', 'telegram', 'main', 'Prefers short answers.', 3),
              ('slack:acme:T1:U1', 'slack', 'acme', 'Works on billing.', 1)`,
    );
  });

  afterAll(async () => {
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  it('lists, shows and erases a memory; an unknown person exits 4', async () => {
    const ls = await cli(['memory', 'ls', '--prefix', 'telegram:']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('telegram:main:42');
    expect(ls.stdout).not.toContain('slack:acme');

    const show = await cli(['memory', 'show', 'telegram:main:42']);
    expect(show).toMatchObject({ code: 0 });
    expect(show.stdout).toContain('Prefers short answers.');

    const forget = await cli(['memory', 'forget', 'telegram:main:42']);
    expect(forget).toMatchObject({ code: 0, stdout: 'erased the memory of telegram:main:42\n' });
    const [row] = await db.query<any>(
      `SELECT summary, "forgottenAt" FROM "PersonMemory" WHERE person = 'telegram:main:42'`,
    );
    expect(row).toMatchObject({ summary: null, forgottenAt: expect.any(Date) });
    const json = JSON.parse((await cli(['memory', 'show', 'telegram:main:42', '--json'])).stdout);
    expect(json).toMatchObject({ person: 'telegram:main:42', summary: null, version: 4 });

    const missing = await cli(['memory', 'forget', 'telegram:main:999']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('no memory of telegram:main:999');
  });
});
