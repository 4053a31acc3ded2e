import { ConfigError, loadConfig } from '@app/config';
import { slackConfiguredKinds } from './slack-workspaces';

function load(slack: unknown, env: Record<string, string> = {}) {
  return loadConfig({ env, path: null, overrides: { slack } });
}

describe('slack config', () => {
  it('reads workspaces with secrets from the environment and fills the defaults', () => {
    const config = load(
      {
        apiUrl: 'http://127.0.0.1:9/api',
        workspaces: {
          acme: {
            teamId: 'T0123ABCD',
            botToken: '${SLACK_BOT_TOKEN}',
            signingSecret: '${SLACK_SIGNING_SECRET}',
            workflow: 'chat-approval',
          },
        },
      },
      { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'shh' },
    );
    expect(config.slack.apiUrl).toBe('http://127.0.0.1:9/api/');
    expect(config.slack.workspaces.acme).toEqual({
      teamId: 'T0123ABCD',
      botToken: 'xoxb-1',
      signingSecret: 'shh',
      socketMode: false,
      workflow: 'chat-approval',
      busyPolicy: 'inbox',
      collectWindow: 3_000,
      format: 'markdown',
      liveness: 'stream',
    });
    expect(slackConfiguredKinds(config)).toEqual([
      { kind: 'chat-approval', where: 'slack.workspaces.acme.workflow' },
    ]);
    expect(load(undefined).slack).toEqual({
      apiUrl: 'https://slack.com/api/',
      bodyLimit: 1024 * 1024,
      workspaces: {},
    });
  });

  it.each([
    [{ teamId: 'T1', botToken: 'x' }, 'signingSecret'],
    [{ teamId: 'T1', botToken: 'x', socketMode: true }, 'appToken'],
    [{ teamId: 'acme', botToken: 'x', signingSecret: 's' }, 'teamId'],
  ])('refuses %j (%s)', (ws, path) => {
    expect(() => load({ workspaces: { acme: ws } })).toThrow(ConfigError);
    expect(() => load({ workspaces: { acme: ws } })).toThrow(path);
  });
});
