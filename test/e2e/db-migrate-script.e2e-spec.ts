import { execFile } from 'node:child_process';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';
import { REPO_ROOT } from '@test/paths';

/** `npm run <script>` in the checkout, as a person would type it. */
function npmRun(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', script],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', ...env },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          output: stdout + stderr,
        }),
    );
  });
}

describe('npm run db:migrate', () => {
  let db: TestSchema;

  beforeAll(async () => {
    db = await createTestSchema('db_migrate_script', { migrate: false });
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('applies every migration to an empty schema, then finds nothing to do', async () => {
    const env = { DATABASE_URL: TEST_DATABASE_URL, WORKGATE_DB_SCHEMA: db.schema };
    const first = await npmRun('db:migrate', env);
    expect({ code: first.code, output: first.output }).toMatchObject({
      code: 0,
      output: expect.stringMatching(/done: \d+ applied, 0 already applied/),
    });
    const tables = await db.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1`,
      [db.schema],
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['Work', 'InboundEvent', 'InboundRawBody', 'InstallationSecret']),
    );
    const again = await npmRun('db:migrate', env);
    expect(again.code).toBe(0);
    expect(again.output).toMatch(/done: 0 applied/);
  });
});
