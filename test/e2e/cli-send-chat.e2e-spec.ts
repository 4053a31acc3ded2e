import { type CliRun, runCli } from '@test/cli';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestSchema, type TestSchema } from '@test/db';
import { startGateway, testConfig, type TestGateway } from '@test/gateway';
import { deleteKeys, testQueuePrefix } from '@test/redis';
import { SlackApiServer } from '@test/slack-api';
import { TelegramApiServer } from '@test/telegram-api';

const TG_TOKEN = '100000009:TEST_ONLY-send-bot';
const TG_SECRET = 'wg_TEST_ONLY-send-secret';
const SLACK_SECRET = 'slack-signing-secret-for-the-cli-test';

/**
 * `workgate send telegram|slack`: the built CLI signs as the provider does and posts to a
 * live gateway, which verifies it like a real delivery and routes it into the ledger.
 */
describe('workgate send telegram|slack', () => {
  let db: TestSchema;
  let prefix: string;
  let gw: TestGateway;
  let tg: TelegramApiServer;
  let slack: SlackApiServer;
  let dir: string;
  let configPath: string;

  function cli(args: string[], secrets = { tg: TG_SECRET, slack: SLACK_SECRET }): Promise<CliRun> {
    return runCli(['send', ...args], {
      WORKGATE_CONFIG: configPath,
      WORKGATE_URL: gw.url,
      TG_SECRET: secrets.tg,
      SLACK_SECRET: secrets.slack,
    });
  }

  beforeAll(async () => {
    db = await createTestSchema('cli_send_chat');
    prefix = testQueuePrefix();
    tg = await new TelegramApiServer()
      .addBot(TG_TOKEN, { username: 'send_bot', first_name: 'Send Bot' })
      .start();
    slack = await new SlackApiServer().start();
    gw = await startGateway(
      testConfig({
        schema: db.schema,
        prefix,
        overrides: {
          telegram: {
            apiRoot: tg.url,
            bots: { main: { token: TG_TOKEN, secretToken: TG_SECRET, workflow: 'chat-approval' } },
          },
          slack: {
            apiUrl: slack.url,
            workspaces: {
              acme: {
                teamId: 'T0SEND01',
                botToken: 'xoxb-send',
                signingSecret: SLACK_SECRET,
                workflow: 'chat-approval',
              },
            },
          },
        },
      }),
    );
    dir = mkdtempSync(join(tmpdir(), 'wg-send-chat-'));
    configPath = join(dir, 'workgate.config.yaml');
    writeFileSync(
      configPath,
      [
        'telegram:',
        '  bots:',
        '    main:',
        `      token: ${TG_TOKEN}`,
        '      secretToken: ${TG_SECRET}',
        'slack:',
        '  workspaces:',
        '    acme:',
        '      teamId: T0SEND01',
        '      botToken: xoxb-send',
        '      signingSecret: ${SLACK_SECRET}',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await gw?.close();
    await tg?.stop();
    await slack?.stop();
    await deleteKeys(prefix);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const works = (channel: string) =>
    db.query<{ kind: string; conversationKey: string }>(
      'SELECT kind, "conversationKey" FROM "Work" WHERE "sourceType" = $1',
      [channel],
    );

  it('send telegram: a message the gateway verifies, stores and routes (a new work)', async () => {
    const run = await cli(['telegram', 'main', '--text', 'deploy v2', '--chat', '4242', '--json']);
    expect(run).toMatchObject({ code: 0 });
    expect(JSON.parse(run.stdout)).toMatchObject({ result: { decision: 'opened' } });
    expect(await works('telegram')).toEqual([
      { kind: 'chat-approval', conversationKey: 'telegram:main:4242' },
    ]);
  });

  it('send telegram /status is answered by the gateway', async () => {
    const run = await cli(['telegram', 'main', '--text', '/status', '--chat', '4242', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ result: { decision: 'command' } });
  });

  it('send slack: a signed app mention opens a work in its thread', async () => {
    const run = await cli(['slack', 'acme', '--text', 'ship it', '--channel', 'C0SEND1', '--json']);
    expect(run.code).toBe(0);
    const [work, ...more] = await works('slack');
    expect(more).toEqual([]);
    expect(work).toMatchObject({ kind: 'chat-approval' });
    expect(work!.conversationKey).toMatch(/^slack:acme:C0SEND1:\d+\.\d+$/);
  });

  it('a wrong secret is refused by the gateway (401, exit 1) and writes nothing', async () => {
    const before = (
      await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "InboundEvent"')
    )[0]!.n;
    const tgRun = await cli(['telegram', 'main', '--text', 'x'], {
      tg: 'wrong',
      slack: SLACK_SECRET,
    });
    expect(tgRun.code).toBe(1);
    expect(tgRun.stdout).toMatch(/^401/);
    const slackRun = await cli(['slack', 'acme', '--text', 'x'], {
      tg: TG_SECRET,
      slack: 'wrong-secret',
    });
    expect(slackRun.code).toBe(1);
    expect(slackRun.stdout).toMatch(/^401/);
    const after = (
      await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "InboundEvent"')
    )[0]!.n;
    expect(after).toBe(before);
  });

  it('an unknown bot or workspace is a configuration error (78)', async () => {
    expect((await cli(['telegram', 'nobody', '--text', 'x'])).code).toBe(78);
    expect((await cli(['slack', 'nowhere', '--text', 'x'])).code).toBe(78);
  });
});
