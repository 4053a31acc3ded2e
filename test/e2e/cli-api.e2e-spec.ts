import { type CliRun, runCli } from '@test/cli';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { defineWorkflow } from '@app/engine';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { until } from '@test/until';
import { startWorker, type TestWorker } from '@test/worker';

const approval = defineWorkflow('cli-approval', async (ctx, input: { ref: string }) => {
  await ctx.step('prepare', () => input.ref);
  const answer = await ctx.ask<string>({ text: 'ok?', expects: { enum: ['yes', 'no'] } });
  return { answer };
});

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('workgate CLI over the operator API', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let worker: TestWorker;
  let operator: string;
  let viewer: string;

  /** The built CLI as a real child process (async: the gateway answers from this process). */
  function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
    return runCli(args, {
      DATABASE_URL: TEST_DATABASE_URL,
      WORKGATE_DB_SCHEMA: db.schema,
      WORKGATE_URL: gw.url,
      WORKGATE_TOKEN: operator,
      ...env,
    });
  }

  const work = async (id: string) =>
    (await db.query<any>('SELECT * FROM "Work" WHERE id = $1', [id]))[0];
  const start = async (ref: string) => {
    const id = (await worker.control.start('cli-approval', { ref }, { actor: 'test' })).workId!;
    await until(
      async () => (await work(id))?.waitReason === 'human',
      `work ${id} to wait for an answer`,
      15_000,
    );
    return id;
  };

  beforeAll(async () => {
    db = await createTestSchema('cli_api');
    prefix = testQueuePrefix();
    const config = testConfig({
      schema: db.schema,
      prefix,
      overrides: { worker: { lease: '2s', reconcileEvery: '250ms' } },
    });
    gw = await startGateway(config);
    worker = await startWorker(config, [approval]);
  });

  afterAll(async () => {
    await worker?.close();
    await gw?.close();
    await deleteKeys(prefix);
    await db?.drop();
  });

  describe('tokens (straight to PostgreSQL)', () => {
    it('creates tokens, printing each once, and lists them without the secret', async () => {
      const created = await cli(['tokens', 'create', '--name', 'ana', '--role', 'operator']);
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^wg_[A-Za-z0-9_-]{43}\n$/);
      expect(created.stderr).toContain('shown this once');
      operator = created.stdout.trim();

      const v = await cli(['tokens', 'create', '--name', 'vic', '--role', 'viewer', '--json']);
      expect(v.code).toBe(0);
      const json = JSON.parse(v.stdout);
      expect(json).toMatchObject({
        name: 'vic',
        role: 'viewer',
        token: expect.stringMatching(/^wg_/),
      });
      viewer = json.token;

      const ls = await cli(['tokens', 'ls']);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toMatch(/^NAME\s+ROLE\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED/);
      expect(ls.stdout).toMatch(/\nana\s+operator\s+wg_/);
      expect(ls.stdout).toMatch(/\nvic\s+viewer\s+wg_/);
      expect(ls.stdout).not.toContain(operator);
      const [row] = await db.query<{ tokenHash: string }>(
        `SELECT "tokenHash" FROM "ApiToken" WHERE name = 'ana'`,
      );
      expect(row!.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    });

    it.each([
      ['a taken name', ['tokens', 'create', '--name', 'ana', '--role', 'viewer'], 1],
      ['an unknown role', ['tokens', 'create', '--name', 'x', '--role', 'admin'], 64],
      ['no name', ['tokens', 'create', '--role', 'viewer'], 64],
      ['revoking an unknown name', ['tokens', 'revoke', 'nobody'], 4],
    ])('refuses %s', async (_label, args, code) => {
      const run = await cli(args);
      expect(run.code).toBe(code);
      expect(run.stderr).not.toBe('');
    });
  });

  describe('works', () => {
    let a: string;
    let b: string;
    beforeAll(async () => {
      a = await start('cli-a');
      b = await start('cli-b');
    });

    it('lists works as a table, and as JSON for scripts', async () => {
      const table = await cli(['works', 'ls']);
      expect(table.code).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(
        /^ID\s+STATE\s+KIND\s+CHANNEL\s+ATTEMPT\s+WAITING FOR\s+CREATED\s+COST$/,
      );
      expect(lines[1]).toMatch(
        new RegExp(`^${b}\\s+WAITING\\s+cli-approval\\s+api\\s+1\\s+human\\s`),
      );
      expect(lines[2]).toMatch(new RegExp(`^${a}\\s+WAITING`));

      const json = await cli([
        'works',
        'ls',
        '--state',
        'waiting',
        '--kind',
        'cli-approval',
        '--json',
      ]);
      expect(json.code).toBe(0);
      const page = JSON.parse(json.stdout);
      expect(page.items.map((w: any) => w.id)).toEqual([b, a]);
      expect(page.nextCursor).toBeNull();

      const paged = await cli(['works', 'ls', '--limit', '1']);
      expect(paged.stdout.trimEnd().split('\n')).toHaveLength(2);
      expect(paged.stderr).toMatch(/^more: workgate works ls --cursor \S+/);
      const all = await cli(['works', 'ls', '--limit', '1', '--all', '--json']);
      expect(JSON.parse(all.stdout).items.map((w: any) => w.id)).toEqual([b, a]);

      const none = await cli(['works', 'ls', '--kind', 'nothing-like-this']);
      expect(none).toMatchObject({ code: 0, stdout: 'No works match.\n' });
    });

    it('shows one work with its steps, waits and timeline', async () => {
      const run = await cli(['works', 'show', a]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Work ${a}  cli-approval  WAITING (human)`);
      expect(run.stdout).toContain('Input:  {"ref":"cli-a"}');
      expect(run.stdout).toMatch(
        /Steps:\n\s+SEQ\s+NAME\s+TYPE\s+STATUS[^\n]*\n\s+1\s+prepare\s+task\s+completed/,
      );
      expect(run.stdout).toMatch(/Waits:\n[^\n]*\n\s+\S+\s+human\s+open/);
      expect(run.stdout).toMatch(/Timeline:\n[^\n]*\n[^\n]*created/);
      const json = JSON.parse((await cli(['works', 'show', a, '--json'])).stdout);
      expect(json.work.id).toBe(a);
      expect(json.steps[0].name).toBe('prepare');
    });

    it('pauses and resumes; a forbidden transition exits 9 and names the current state', async () => {
      const paused = await cli(['works', 'pause', a, '--reason', 'looking']);
      expect(paused).toMatchObject({ code: 0, stdout: `paused: work ${a} is PAUSED\n` });
      const again = await cli(['works', 'pause', a]);
      expect(again.code).toBe(9);
      expect(again.stderr).toContain('409');
      expect(again.stderr).toContain('current state: PAUSED');
      const resumed = await cli(['works', 'resume', a, '--json']);
      expect(resumed.code).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({
        event: 'resumed',
        work: { state: 'WAITING' },
      });
      const notes = await db.query<{ actor: string }>(
        `SELECT actor FROM "WorkEvent" WHERE "workId" = $1 AND type IN ('paused', 'resumed', 'operator_note')`,
        [a],
      );
      expect(notes.map((n) => n.actor)).toEqual(['token:ana', 'token:ana', 'token:ana']);
    });

    it('signals a wait with JSON data and the work completes', async () => {
      const bad = await cli(['works', 'signal', a, '--data', 'yes']);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain('not JSON');
      expect((await cli(['works', 'signal', a])).code).toBe(64);
      const mismatch = await cli(['works', 'signal', a, '--data', '"maybe"']);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stderr).toContain('400');
      const ok = await cli(['works', 'signal', a, '--data', '"yes"']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(
        new RegExp(`^signal: work ${a} is QUEUED \\(wait [0-9a-f-]{36}\\)\\n$`),
      );
      await until(
        async () => (await work(a)).state === 'COMPLETED',
        'the work to complete',
        15_000,
      );
      expect((await work(a)).output).toEqual({ answer: 'yes' });
    });

    it('cancels, retries and reruns from a step', async () => {
      expect((await cli(['works', 'cancel', b])).stdout).toBe(
        `cancelled: work ${b} is CANCELLED\n`,
      );
      expect((await cli(['works', 'retry', b])).stdout).toBe(`retried: work ${b} is QUEUED\n`);
      await until(
        async () => (await work(b)).waitReason === 'human',
        'the work to wait again',
        15_000,
      );
      expect((await cli(['works', 'rerun', b])).code).toBe(64);
      expect((await cli(['works', 'rerun', b, '--from', 'two'])).code).toBe(64);
      const rerun = await cli(['works', 'rerun', b, '--from', '2']);
      expect(rerun).toMatchObject({ code: 0, stdout: `rerun: work ${b} is QUEUED\n` });
    });

    it('exits 4 for an unknown work', async () => {
      const run = await cli(['works', 'show', randomUUID()]);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('404');
      expect((await cli(['works', 'pause', randomUUID()])).code).toBe(4);
    });
  });

  describe('events, queues, leases, stats, outbox', () => {
    it('lists inbound events with their decision', async () => {
      const run = await cli(['events', 'ls', '--channel', 'api']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^RECEIVED\s+ID\s+CHANNEL\s+SOURCE\s+DECISION\s+WORK\s+REASON\n/);
      expect(run.stdout).toMatch(/\sapi\s+api\s+opened\s/);
      const json = JSON.parse(
        (await cli(['events', 'ls', '--decision', 'opened', '--json'])).stdout,
      );
      expect(json.items.length).toBeGreaterThanOrEqual(2);
      expect(json.items.every((e: any) => e.decision === 'opened')).toBe(true);
    });

    it('shows queue depths, leases, stats and the outbox', async () => {
      const queues = await cli(['queues']);
      expect(queues.code).toBe(0);
      expect(queues.stdout).toMatch(/^QUEUE\s+WAITING\s+ACTIVE\s+DELAYED/);
      for (const q of ['work', 'wake', 'outbox'])
        expect(queues.stdout).toMatch(new RegExp(`\\n${q}\\s+\\d+`));
      expect(JSON.parse((await cli(['queues', '--json'])).stdout).queues).toHaveLength(3);

      const leases = await cli(['leases', '--expired']);
      expect(leases).toMatchObject({ code: 0, stdout: 'No running works.\n' });

      const stats = await cli(['stats']);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toMatch(/\nCOMPLETED\s+1\n/);

      const outbox = await cli(['outbox', 'ls', '--status', 'failed']);
      expect(outbox).toMatchObject({ code: 0, stdout: 'No messages match.\n' });
      expect((await cli(['outbox', 'retry', randomUUID()])).code).toBe(4);
    });
  });

  describe('schedules', () => {
    it('creates, lists, pauses, resumes and deletes a schedule', async () => {
      const created = await cli([
        'schedules',
        'create',
        'nightly',
        '--workflow',
        'cli-approval',
        '--cron',
        '0 2 * * *',
        '--timezone',
        'Europe/Berlin',
        '--input',
        '{"ref":"nightly"}',
        '--paused',
      ]);
      expect(created).toMatchObject({
        code: 0,
        stdout: 'schedule nightly: cron "0 2 * * *" Europe/Berlin, paused\n',
      });
      const ls = await cli(['schedules', 'ls']);
      expect(ls.stdout).toMatch(/^NAME\s+WORKFLOW\s+TIMING\s+ENABLED\s+NEXT FIRE\s+LAST FIRED\n/);
      expect(ls.stdout).toMatch(
        /\nnightly\s+cli-approval\s+cron "0 2 \* \* \*" Europe\/Berlin\s+no\s+-\s+-\n/,
      );
      const resumed = await cli(['schedules', 'resume', 'nightly']);
      expect(resumed.stdout).toMatch(
        /^schedule nightly: next fire \d{4}-\d\d-\d\d 0[01]:00:00Z\n$/,
      );
      const [row] = await db.query<{ enabled: boolean; input: any }>(
        `SELECT enabled, input FROM "Schedule" WHERE name = 'nightly'`,
      );
      expect(row).toEqual({ enabled: true, input: { ref: 'nightly' } });
      expect((await cli(['schedules', 'pause', 'nightly'])).stdout).toBe(
        'schedule nightly: paused\n',
      );
      expect(JSON.parse((await cli(['schedules', 'ls', '--json'])).stdout).items[0].enabled).toBe(
        false,
      );
      expect((await cli(['schedules', 'rm', 'nightly'])).stdout).toBe('schedule nightly deleted\n');
      expect((await cli(['schedules', 'rm', 'nightly'])).code).toBe(4);
    });

    it('refuses a schedule without exactly one timing (64) or with a bad cron (1)', async () => {
      expect((await cli(['schedules', 'create', 'x', '--workflow', 'w'])).code).toBe(64);
      const bad = await cli([
        'schedules',
        'create',
        'x',
        '--workflow',
        'w',
        '--cron',
        '0 25 * * *',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('cron: not a cron expression');
    });
  });

  describe('exit codes for auth, reachability and configuration', () => {
    it('exits 77 without a token, with a hint', async () => {
      const run = await cli(['works', 'ls'], { WORKGATE_TOKEN: undefined });
      expect(run.code).toBe(77);
      expect(run.stderr).toContain('401');
      expect(run.stderr).toContain('WORKGATE_TOKEN is not set');
    });

    it('exits 77 when a viewer acts, 0 when it reads', async () => {
      const id = await start('cli-viewer');
      expect((await cli(['works', 'show', id], { WORKGATE_TOKEN: viewer })).code).toBe(0);
      const run = await cli(['works', 'cancel', id], { WORKGATE_TOKEN: viewer });
      expect(run.code).toBe(77);
      expect(run.stderr).toContain('403');
      expect((await work(id)).state).toBe('WAITING');
    });

    it('exits 77 once a token is revoked', async () => {
      expect((await cli(['works', 'ls'], { WORKGATE_TOKEN: viewer })).code).toBe(0);
      expect((await cli(['tokens', 'revoke', 'vic'])).stdout).toBe('Revoked token "vic".\n');
      expect((await cli(['works', 'ls'], { WORKGATE_TOKEN: viewer })).code).toBe(77);
    });

    it('exits 69 when the gateway cannot be reached', async () => {
      const run = await cli(['works', 'ls'], {
        WORKGATE_URL: `http://127.0.0.1:${await closedPort()}`,
      });
      expect(run.code).toBe(69);
      expect(run.stderr).toContain('Cannot reach the gateway');
    });

    it('exits 78 on a configuration error and 64 on bad usage', async () => {
      expect((await cli(['works', 'ls'], { WORKGATE_URL: 'not a url' })).code).toBe(78);
      expect((await cli(['works', 'frobnicate'])).code).toBe(64);
      expect((await cli(['works', 'ls', '--limit', '0'])).code).toBe(64);
    });
  });
});
