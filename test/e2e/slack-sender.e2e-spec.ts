import { verifyButtonToken } from '@app/security';
import { createSlackSender } from '@app/channels/slack';
import {
  type OutboundDelivery,
  OutboundError,
  type OutboundPayload,
  type OutboundSender,
} from '@app/core';
import { testConfig } from '@test/gateway';
import { SlackApiServer } from '@test/slack-api';

const BUTTON_SECRET = 'e2e-button-secret-TEST-ONLY-0002';
const waitId = '01890000-0000-7000-8000-0000000000ff';

/** The real @slack/web-api WebClient (through SlackSender) against the loopback Web API. */
describe('SlackSender against a loopback Slack Web API', () => {
  let api: SlackApiServer;
  let sender: OutboundSender;
  let n = 0;

  function delivery(payload: OutboundPayload, target = 'acme:C0FAKE01'): OutboundDelivery {
    n += 1;
    return {
      outboxId: `01890000-0000-7000-8000-${String(n).padStart(12, '0')}`,
      workId: null,
      target,
      payload,
      idempotencyKey: `key-${n}`,
      attempt: 1,
    };
  }

  async function failure(p: Promise<unknown>): Promise<OutboundError> {
    const err = await p.then(
      () => new Error('expected the delivery to fail'),
      (e: unknown) => e,
    );
    if (!(err instanceof OutboundError)) throw err;
    return err;
  }

  beforeAll(async () => {
    api = await new SlackApiServer().start();
    api.tokens.set('xoxb-acme', { teamId: 'T0FAKE01', team: 'Workgate Fake' });
    api.channels.add('C0FAKE01');
    api.channels.add('D0FAKE01');
    const config = testConfig({
      schema: 'unused',
      prefix: 'unused',
      overrides: {
        chat: { buttonSecrets: [BUTTON_SECRET] },
        slack: {
          apiUrl: api.url,
          workspaces: {
            acme: { teamId: 'T0FAKE01', botToken: 'xoxb-acme', signingSecret: 'x'.repeat(32) },
            revoked: {
              teamId: 'T0REVOKE1',
              botToken: 'xoxb-revoked',
              signingSecret: 'y'.repeat(32),
            },
          },
        },
      },
    });
    sender = createSlackSender(config);
  });

  afterAll(async () => {
    await api?.stop();
  });

  it('a message: chat.postMessage in the thread with the bot token; the ts is the provider id', async () => {
    const { providerMessageId } = await sender.send(
      delivery({ kind: 'message', text: 'wk_fake_0001 is running', thread: '1767225700.000200' }),
    );
    const call = api.on('chat.postMessage').at(-1)!;
    expect(call).toMatchObject({
      token: 'xoxb-acme',
      args: {
        channel: 'C0FAKE01',
        text: 'wk_fake_0001 is running',
        thread_ts: '1767225700.000200',
      },
    });
    expect(providerMessageId).toBe(call.response.ts);
    expect(providerMessageId).toMatch(/^\d+\.\d{6}$/);
  });

  it('an ask: Block Kit buttons whose values verify with the button secret', async () => {
    const { providerMessageId } = await sender.send(
      delivery({
        kind: 'ask',
        waitId,
        text: 'Ship it?',
        expects: { type: 'boolean' },
        responders: null,
        thread: '1767225700.000200',
      }),
    );
    const call = api.on('chat.postMessage').at(-1)!;
    const buttons = call.args.blocks
      .filter((b: any) => b.type === 'actions')
      .flatMap((b: any) => b.elements);
    expect(buttons.map((b: any) => verifyButtonToken(b.value, [BUTTON_SECRET]))).toEqual([
      { kind: 'answer', waitId, choice: 0 },
      { kind: 'answer', waitId, choice: 1 },
    ]);
    expect(providerMessageId).toBe(call.response.ts);

    // Answered: the same message is edited; its buttons are gone.
    const edited = await sender.send(
      delivery({
        kind: 'answered',
        waitId,
        promptMessageId: providerMessageId!,
        text: 'Ship it?',
        answeredBy: 'slack:T0FAKE01:U0FAKE01',
        answer: true,
      }),
    );
    expect(edited.providerMessageId).toBe(providerMessageId);
    const update = api.on('chat.update').at(-1)!;
    expect(update.args).toMatchObject({ channel: 'C0FAKE01', ts: providerMessageId });
    expect(update.args.blocks.some((b: any) => b.type === 'actions')).toBe(false);
    expect(api.messages.get(`C0FAKE01/${providerMessageId}`)!.text).toBe(
      'Ship it?\n✅ answered by <@U0FAKE01>: Approve',
    );
  });

  it('a notice for one person: chat.postEphemeral, its message_ts returned', async () => {
    const { providerMessageId } = await sender.send(
      delivery({
        kind: 'notice',
        text: 'Only <@U0FAKE09> can answer this.',
        ephemeralTo: 'U0FAKE01',
      }),
    );
    const call = api.on('chat.postEphemeral').at(-1)!;
    expect(call.args).toMatchObject({ channel: 'C0FAKE01', user: 'U0FAKE01' });
    expect(providerMessageId).toBe(call.response.message_ts);
  });

  it('429: retryable with Retry-After in ms, and the SDK does not retry by itself', async () => {
    const before = api.calls.length;
    api.failNext({ kind: 'ratelimited', retryAfterSeconds: 30 });
    const err = await failure(sender.send(delivery({ kind: 'message', text: 'hello' })));
    expect(err).toMatchObject({ retryable: true, retryAfterMs: 30_000 });
    expect(api.calls.length - before).toBe(1);
    // Delivered on the next attempt.
    await expect(sender.send(delivery({ kind: 'message', text: 'hello' }))).resolves.toMatchObject({
      providerMessageId: expect.any(String),
    });
  });

  it('5xx: retryable; ok:false channel_not_found / not_in_channel / invalid_auth: not', async () => {
    api.failNext({ kind: 'http', status: 503 });
    expect(await failure(sender.send(delivery({ kind: 'message', text: 'x' })))).toMatchObject({
      retryable: true,
    });
    api.failNext({ kind: 'error', error: 'not_in_channel' });
    expect(await failure(sender.send(delivery({ kind: 'message', text: 'x' })))).toMatchObject({
      retryable: false,
      message: 'chat.postMessage: not_in_channel',
    });
    const missing = await failure(
      sender.send(delivery({ kind: 'message', text: 'x' }, 'acme:C0MISSING')),
    );
    expect(missing).toMatchObject({
      retryable: false,
      message: 'chat.postMessage: channel_not_found',
    });
    const revoked = await failure(
      sender.send(delivery({ kind: 'message', text: 'x' }, 'revoked:C0FAKE01')),
    );
    expect(revoked).toMatchObject({ retryable: false, message: 'chat.postMessage: invalid_auth' });
    api.failNext({ kind: 'error', error: 'internal_error' });
    expect(await failure(sender.send(delivery({ kind: 'message', text: 'x' })))).toMatchObject({
      retryable: true,
    });
  });

  it('an edit of a message Slack does not know, or a target nobody configured: not retryable', async () => {
    const err = await failure(
      sender.send(
        delivery({
          kind: 'answered',
          waitId,
          promptMessageId: '1.000001',
          text: 'x',
          answeredBy: 'Ana',
          answer: 'yes',
        }),
      ),
    );
    expect(err).toMatchObject({ retryable: false, message: 'chat.update: message_not_found' });
    expect(
      await failure(sender.send(delivery({ kind: 'message', text: 'x' }, 'nowhere:C1'))),
    ).toMatchObject({
      retryable: false,
    });
    expect(
      await failure(sender.send(delivery({ kind: 'message', text: 'x' }, 'acme'))),
    ).toMatchObject({
      retryable: false,
    });
  });

  it('limits: one message per second per channel; edits and ephemerals per workspace', () => {
    expect(sender.limits!(delivery({ kind: 'message', text: 'x' }, 'acme:C0FAKE01'))).toEqual([
      { key: 'slack:acme:chan:C0FAKE01', max: 1, perMs: 1000 },
    ]);
    const answered = delivery({
      kind: 'answered',
      waitId,
      promptMessageId: '1.1',
      text: 'x',
      answeredBy: 'Ana',
      answer: 'yes',
    });
    expect(sender.limits!(answered)).toEqual([
      { key: 'slack:acme:chat.update', max: 50, perMs: 60_000 },
    ]);
    expect(
      sender.limits!(
        delivery({ kind: 'notice', text: 'x', ephemeralTo: 'slack:T0FAKE01:U0FAKE01' }),
      ),
    ).toEqual([{ key: 'slack:acme:chat.postEphemeral', max: 100, perMs: 60_000 }]);
  });
});
