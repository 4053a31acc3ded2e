import { signButtonToken } from '@app/security';
import { loadConfig } from '@app/config';
import { ErrorCode, WorkgateError } from '@app/core';
import { slackFixture, slackSignatures } from './slack-fixtures.testing';
import { signSlackRequest } from './slack-signature';
import { SlackAdapter } from './slack.adapter';
import { SlackSender } from './slack.sender';
import { SlackWorkspaces } from './slack-workspaces';

const fx = slackSignatures();
const SECRET = fx.events_example.signing_secret;
const OTHER_APP_SECRET = 'other-app-signing-secret-0000001';
const BUTTON_SECRET = 'button-secret-for-tests-0001';
const NOW = fx.events_example.now_for_tests;
const waitId = '01890000-0000-7000-8000-0000000000cc';

const config = loadConfig({
  env: {},
  path: null,
  overrides: {
    chat: { buttonSecrets: [BUTTON_SECRET] },
    slack: {
      workspaces: {
        acme: {
          teamId: 'T0FAKE01',
          botToken: 'xoxb-acme',
          signingSecret: SECRET,
          workflow: 'triage',
        },
        other: { teamId: 'T0OTHER1', botToken: 'xoxb-other', signingSecret: OTHER_APP_SECRET },
      },
    },
  },
});
const adapter = new SlackAdapter(
  new SlackWorkspaces(config),
  () => config.chat.buttonSecrets,
  new SlackSender(config),
  () => NOW,
);

function request(endpoint: 'events' | 'interactivity', body: string, secret = SECRET) {
  return {
    params: { endpoint },
    headers: signSlackRequest(body, secret, NOW),
    rawBody: Buffer.from(body),
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof WorkgateError) return err.code;
    throw err;
  }
}

describe(SlackAdapter.name, () => {
  it('answers url_verification with the challenge', () => {
    const body = JSON.stringify(slackFixture('event-url-verification.json'));
    expect(adapter.verify(request('events', body))).toEqual({
      kind: 'url_verification',
      challenge: 'fakeChallenge0123456789abcdefghijklmnopqrstuvwxyzABCD',
    });
  });

  it('verifies the fixture delivery byte for byte and routes it to the team whose app signed it', () => {
    const verified = adapter.verify({
      params: { endpoint: 'events' },
      headers: {
        'x-slack-request-timestamp': fx.events_example.timestamp,
        'x-slack-signature': fx.events_example.expected_signature,
      },
      rawBody: Buffer.from(fx.events_example.body),
    });
    expect(verified).toMatchObject({
      kind: 'event',
      workspace: { name: 'acme', teamId: 'T0FAKE01', route: { openKind: 'triage' } },
    });
    expect(adapter.normalize(verified)).toHaveLength(1);
  });

  it("a team no workspace names (or signed by another team's app) routes nowhere: opens nothing", () => {
    const doc = slackFixture<any>('event-app-mention.json');
    doc.team_id = 'T0NOBODY1';
    expect(adapter.verify(request('events', JSON.stringify(doc)))).toMatchObject({
      kind: 'event',
      workspace: { name: 'T0NOBODY1', route: { openKind: null } },
    });
    // T0FAKE01's event signed with the other workspace's app secret is not acme's.
    const mention = JSON.stringify(slackFixture('event-app-mention.json'));
    expect(adapter.verify(request('events', mention, OTHER_APP_SECRET))).toMatchObject({
      workspace: { name: 'T0FAKE01', route: { openKind: null } },
    });
  });

  it('ignores authentic envelopes it does not handle', () => {
    const body = JSON.stringify({
      type: 'app_rate_limited',
      team_id: 'T0FAKE01',
      minute_rate_limited: 1,
    });
    expect(adapter.verify(request('events', body))).toEqual({
      kind: 'ignored',
      reason: 'envelope type app_rate_limited',
    });
  });

  it('refuses a forged signature before parsing, and a signed non-JSON body as malformed', () => {
    expect(codeOf(() => adapter.verify(request('events', 'not json', 'forged-secret')))).toBe(
      ErrorCode.SignatureInvalid,
    );
    expect(codeOf(() => adapter.verify(request('events', 'not json')))).toBe(
      ErrorCode.MalformedBody,
    );
  });

  describe('interactivity', () => {
    it('a button whose value is not a valid token is refused (the fixture carries a bare work id)', () => {
      expect(
        codeOf(() =>
          adapter.verify({ ...request('interactivity', fx.interactivity_example.body) }),
        ),
      ).toBe(ErrorCode.SignatureInvalid);
      const doc = slackFixture<any>('interactivity-block-actions.json');
      doc.actions[0].value = signButtonToken(
        { kind: 'answer', waitId, choice: 0 },
        'not-our-secret-000000',
      );
      const body = new URLSearchParams({ payload: JSON.stringify(doc) }).toString();
      expect(codeOf(() => adapter.verify(request('interactivity', body)))).toBe(
        ErrorCode.SignatureInvalid,
      );
    });

    it('a signed press becomes an event carrying the verified button', () => {
      const doc = slackFixture<any>('interactivity-block-actions.json');
      doc.actions[0].value = signButtonToken({ kind: 'answer', waitId, choice: 1 }, BUTTON_SECRET);
      const body = new URLSearchParams({ payload: JSON.stringify(doc) }).toString();
      const verified = adapter.verify(request('interactivity', body));
      expect(adapter.normalize(verified)).toEqual([
        expect.objectContaining({ button: { kind: 'answer', waitId, choice: 1 }, source: 'acme' }),
      ]);
    });

    it('a form without payload is malformed', () => {
      expect(codeOf(() => adapter.verify(request('interactivity', 'foo=bar')))).toBe(
        ErrorCode.MalformedBody,
      );
    });
  });

  it('renderAsk renders for a `<workspace>:<channel>` target', () => {
    const call = adapter.renderAsk(
      { kind: 'ask', waitId, text: 'Ok?', expects: { type: 'boolean' }, responders: null },
      'acme:C0FAKE01',
    );
    expect(call).toMatchObject({ method: 'chat.postMessage', args: { channel: 'C0FAKE01' } });
  });
});
