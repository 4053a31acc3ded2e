import { signButtonToken } from '@app/security';
import { slackFixture } from './slack-fixtures.testing';
import {
  type SlackWorkspaceRef,
  normalizeSlackBlockActions,
  normalizeSlackEvent,
  parseMentionText,
} from './slack-normalize';
import { classifyInteraction, slackEventEnvelopeSchema } from './slack-payloads';

const WS: SlackWorkspaceRef = {
  name: 'acme',
  teamId: 'T0FAKE01',
  route: { openKind: 'triage', busyPolicy: 'collect', collectWindowMs: 2_000 },
};

function envelope(name: string, edit?: (doc: any) => void) {
  const doc = slackFixture<any>(name);
  edit?.(doc);
  return slackEventEnvelopeSchema.parse(doc);
}

describe('normalizeSlackEvent', () => {
  it('an app mention: mention stripped, thread = its own ts, team-scoped actor and dedupe key', () => {
    const [event, ...rest] = normalizeSlackEvent(envelope('event-app-mention.json'), WS);
    expect(rest).toEqual([]);
    expect(event).toMatchObject({
      channel: 'slack',
      source: 'acme',
      externalId: 'acme:Ev0FAKE00002',
      conversationKey: 'slack:acme:C0FAKE01:1767225700.000200',
      correlationKey: null,
      actor: { id: 'slack:T0FAKE01:U0FAKE01' },
      body: {
        text: 'what is the status of wk_fake_0001?',
        messageId: '1767225700.000200',
        chatType: 'channel',
        eventType: 'app_mention',
        channel: 'C0FAKE01',
        user: 'U0FAKE01',
        threadTs: null,
      },
      answer: 'what is the status of wk_fake_0001?',
      command: null,
      route: WS.route,
      replyTo: null,
      button: null,
      replyAddress: { channel: 'slack', target: 'acme:C0FAKE01', thread: '1767225700.000200' },
    });
    expect(event!.raw).toMatchObject({ event_id: 'Ev0FAKE00002' });
  });

  it('a DM: the DM is the conversation (no thread), and it may open a work', () => {
    const [event] = normalizeSlackEvent(envelope('event-message-im.json'), WS);
    expect(event).toMatchObject({
      externalId: 'acme:Ev0FAKE00001',
      conversationKey: 'slack:acme:D0FAKE01',
      body: { text: 'please deploy staging', chatType: 'im' },
      route: { openKind: 'triage' },
      replyTo: null,
      replyAddress: { channel: 'slack', target: 'acme:D0FAKE01' },
    });
    expect(event!.replyAddress).not.toHaveProperty('thread');
  });

  it('a thread reply: the parent is the reply-to message, the thread the conversation; it never opens a work', () => {
    const [event] = normalizeSlackEvent(envelope('event-message-thread-reply.json'), WS);
    expect(event).toMatchObject({
      externalId: 'acme:Ev0FAKE00003',
      conversationKey: 'slack:acme:C0FAKE01:1767225700.000200',
      body: { text: 'yes, approve it', threadTs: '1767225700.000200' },
      answer: 'yes, approve it',
      replyTo: { target: 'acme:C0FAKE01', providerMessageId: '1767225700.000200' },
      route: { openKind: null, busyPolicy: 'collect', collectWindowMs: 2_000 },
    });
  });

  it('an app mention inside a thread keeps the thread and names the parent', () => {
    const [event] = normalizeSlackEvent(
      envelope('event-app-mention.json', (d) => {
        d.event.thread_ts = '1767225600.000100';
      }),
      WS,
    );
    expect(event).toMatchObject({
      conversationKey: 'slack:acme:C0FAKE01:1767225600.000100',
      replyTo: { target: 'acme:C0FAKE01', providerMessageId: '1767225600.000100' },
      route: { openKind: 'triage' },
    });
  });

  it.each([
    ['the bot itself', (d: any) => (d.event.bot_id = 'B0FAKE01')],
    ['its own user', (d: any) => (d.event.user = 'U0FAKE02')],
    ['an edit', (d: any) => (d.event.subtype = 'message_changed')],
    ['a join', (d: any) => (d.event.subtype = 'channel_join')],
    ['an unhandled event type', (d: any) => (d.event.type = 'reaction_added')],
  ])('normalizes a DM message from %s to nothing', (_label, edit) => {
    expect(normalizeSlackEvent(envelope('event-message-im.json', edit), WS)).toEqual([]);
  });

  it('ignores top-level channel chatter and thread replies that mention the bot (app_mention covers those)', () => {
    const topLevel = envelope('event-message-thread-reply.json', (d) => {
      delete d.event.thread_ts;
    });
    expect(normalizeSlackEvent(topLevel, WS)).toEqual([]);
    const mention = envelope('event-message-thread-reply.json', (d) => {
      d.event.text = '<@U0FAKE02> yes';
    });
    expect(normalizeSlackEvent(mention, WS)).toEqual([]);
  });

  it('parses commands after the mention and in DMs; decodes Slack entities', () => {
    const [cmd] = normalizeSlackEvent(
      envelope('event-app-mention.json', (d) => {
        d.event.text = '<@U0FAKE02> new deploy &lt;prod&gt; &amp; staging';
      }),
      WS,
    );
    expect(cmd).toMatchObject({ command: 'new', body: { text: 'deploy <prod> & staging' } });
    const [dm] = normalizeSlackEvent(
      envelope('event-message-im.json', (d) => {
        d.event.text = 'Status';
      }),
      WS,
    );
    expect(dm).toMatchObject({ command: 'status', body: { text: '' } });
  });
});

describe(parseMentionText.name, () => {
  it.each([
    ['<@U0FAKE02> cancel', 'U0FAKE02', 'cancel', ''],
    ['hey <@U0FAKE02|workgate> status please', 'U0FAKE02', 'status', 'hey please'],
    ['<@U0FAKE02> newer things', 'U0FAKE02', null, 'newer things'],
    ['<@U0FAKE02> ask <@U0OTHER1> about it', 'U0FAKE02', null, 'ask <@U0OTHER1> about it'],
    ['<@U0FAKE02> new', undefined, 'new', ''],
    ['status of the deploy', 'U0FAKE02', null, 'status of the deploy'],
    // forget and memory are commands only alone: a sentence starting with them is a message.
    ['<@U0FAKE02> forget', 'U0FAKE02', 'forget', ''],
    ['<@U0FAKE02> memory', 'U0FAKE02', 'memory', ''],
    ['<@U0FAKE02> forget it, I meant prod', 'U0FAKE02', null, 'forget it, I meant prod'],
    ['<@U0FAKE02> help', 'U0FAKE02', 'help', ''],
    ['<@U0FAKE02> help me write the notes', 'U0FAKE02', null, 'help me write the notes'],
  ])('%j', (text, bot, command, rest) => {
    expect(parseMentionText(text, bot, { commandsWithoutMention: false })).toEqual({
      command,
      text: rest,
    });
  });
});

describe('normalizeSlackBlockActions', () => {
  const secret = 'button-secret-for-tests-0001';
  const waitId = '01890000-0000-7000-8000-0000000000aa';

  it('a verified press: the wait and choice, a per-click dedupe key, the message thread', () => {
    const doc = slackFixture<any>('interactivity-block-actions.json');
    const token = signButtonToken({ kind: 'answer', waitId, choice: 1 }, secret);
    doc.actions[0].value = token;
    const parsed = classifyInteraction(doc);
    if (parsed.type !== 'block_actions') throw new Error('not block_actions');
    const [event] = normalizeSlackBlockActions(parsed.payload, WS, [
      { action: parsed.payload.actions[0]!, press: { kind: 'answer', waitId, choice: 1 } },
    ]);
    expect(event).toMatchObject({
      channel: 'slack',
      source: 'acme',
      externalId: 'acme:action:C0FAKE01:1767225900.000500:approve:1767225960.123456',
      conversationKey: 'slack:acme:C0FAKE01:1767225900.000500',
      actor: { id: 'slack:T0FAKE01:U0FAKE01' },
      body: { text: 'Approve', messageId: '1767225900.000500', actionId: 'approve', choice: 1 },
      answer: null,
      button: { kind: 'answer', waitId, choice: 1 },
      route: { openKind: null },
      replyAddress: { channel: 'slack', target: 'acme:C0FAKE01', thread: '1767225900.000500' },
    });
  });
});
