import { signButtonToken } from '@app/security';
import { FIXTURE_BOT_ID, telegramFixture } from './telegram-fixtures.testing';
import {
  FORGED_BUTTON_FEEDBACK,
  type TelegramBotRef,
  classifyTelegramUpdate,
  parseTelegramCommand,
  parseTelegramTarget,
  telegramTarget,
} from './telegram-normalize';
import { parseTelegramUpdateBody, storableUpdate, toTelegramUpdate } from './telegram-payloads';

const SECRET = 'unit-test-button-secret-0001';
const WAIT_ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

const BOT: TelegramBotRef = {
  name: 'main',
  botId: FIXTURE_BOT_ID,
  username: 'workgate_test_bot',
  route: { openKind: 'chat-approval', busyPolicy: 'collect', collectWindowMs: 2_000 },
};

function update(name: string, edit?: (doc: any) => void) {
  const doc = telegramFixture<any>(name);
  edit?.(doc);
  return toTelegramUpdate(doc);
}

function eventOf(outcome: ReturnType<typeof classifyTelegramUpdate>) {
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind}`);
  return outcome.event;
}

describe('classifyTelegramUpdate: messages', () => {
  it('a private text message: bot-scoped dedupe key, chat conversation, the configured route', () => {
    const outcome = classifyTelegramUpdate(update('update-message.json'), BOT, [SECRET]);
    expect(outcome.kind).toBe('event');
    expect(eventOf(outcome)).toEqual({
      channel: 'telegram',
      source: 'main',
      externalId: 'main:100000001',
      conversationKey: 'telegram:main:111111111',
      correlationKey: null,
      actor: { id: 'telegram:111111111', name: 'Alice Example' },
      raw: telegramFixture<any>('update-message.json'),
      body: {
        text: 'Please deploy the staging branch',
        messageId: 101,
        chatId: 111111111,
        chatType: 'private',
        topicId: null,
        updateId: 100000001,
        date: 1767225600,
        edited: false,
        from: { id: 111111111, username: 'alice_example', name: 'Alice Example' },
        replyToMessageId: null,
        command: null,
      },
      answer: 'Please deploy the staging branch',
      reference: null,
      command: null,
      route: BOT.route,
      replyTo: null,
      button: null,
      replyAddress: { channel: 'telegram', target: 'main:111111111' },
    });
    expect((outcome as { callbackQueryId?: string }).callbackQueryId).toBeUndefined();
  });

  it('a reply to one of the bot’s messages names that message for the ledger to look up', () => {
    const event = eventOf(classifyTelegramUpdate(update('update-reply.json'), BOT, [SECRET]));
    expect(event.replyTo).toEqual({ target: 'main:111111111', providerMessageId: '102' });
    expect(event.externalId).toBe('main:100000002');
    expect(event.answer).toBe('yes, go ahead');
    expect(event.body).toMatchObject({ replyToMessageId: 102 });
  });

  it('a reply to someone else’s message is no reference (only the bot’s messages name works)', () => {
    const event = eventOf(
      classifyTelegramUpdate(
        update('update-reply.json', (d) => (d.message.reply_to_message.from.id = 222222222)),
        BOT,
        [SECRET],
      ),
    );
    expect(event.replyTo).toBeNull();
  });

  it('an edited message: its own update id, never a command, never opens a work', () => {
    const event = eventOf(
      classifyTelegramUpdate(
        update('update-edited-message.json', (d) => (d.edited_message.text = '/cancel now')),
        BOT,
        [SECRET],
      ),
    );
    expect(event.externalId).toBe('main:100000003');
    expect(event.command).toBeNull();
    expect(event.route).toEqual({ ...BOT.route, openKind: null });
    expect(event.body).toMatchObject({
      messageId: 101,
      edited: true,
      editDate: 1767225720,
      text: '/cancel now',
    });
  });

  it('a forum topic message: the topic and the person join the conversation key; the topic root is no reply', () => {
    const event = eventOf(
      classifyTelegramUpdate(update('update-forum-topic-message.json'), BOT, [SECRET]),
    );
    expect(event.conversationKey).toBe('telegram:main:-1001234567890:42/u111111111');
    expect(event.replyAddress).toEqual({
      channel: 'telegram',
      target: 'main:-1001234567890:42',
      party: 'u111111111',
    });
    expect(event.command).toBe('status');
    expect(event.replyTo).toBeNull();
    expect(event.body).toMatchObject({ chatType: 'supergroup', topicId: 42, text: '' });
  });

  it('a thread id without is_topic_message (a reply thread in a plain group) is not a topic', () => {
    const event = eventOf(
      classifyTelegramUpdate(
        update('update-forum-topic-message.json', (d) => delete d.message.is_topic_message),
        BOT,
        [SECRET],
      ),
    );
    expect(event.conversationKey).toBe('telegram:main:-1001234567890/u111111111');
  });

  it('/status@otherbot is for another bot when our username is configured', () => {
    const doc = (d: any) => (d.message.text = '/status@other_bot');
    expect(
      classifyTelegramUpdate(update('update-forum-topic-message.json', doc), BOT, [SECRET]),
    ).toEqual({ kind: 'ignored', reason: 'a command for another bot' });
    const { username: _ignored, ...anyName } = BOT;
    expect(
      eventOf(
        classifyTelegramUpdate(update('update-forum-topic-message.json', doc), anyName, [SECRET]),
      ).command,
    ).toBe('status');
  });

  it('/new with text: the command and the text after it', () => {
    const event = eventOf(
      classifyTelegramUpdate(
        update('update-message.json', (d) => (d.message.text = '/new deploy prod')),
        BOT,
        [SECRET],
      ),
    );
    expect(event).toMatchObject({ command: 'new', answer: 'deploy prod' });
    expect(event.body).toMatchObject({ text: 'deploy prod', command: 'new' });
  });

  it.each([
    ['a channel post (no sender)', 'update-channel-post.json', undefined],
    [
      'a message from a bot',
      'update-message.json',
      (d: any) => (d.message.from = { id: 5, is_bot: true, first_name: 'B' }),
    ],
    [
      'a service message without text',
      'update-message.json',
      (d: any) => {
        delete d.message.text;
        d.message.new_chat_members = [];
      },
    ],
  ])('ignores %s', (_label, name, edit) => {
    expect(classifyTelegramUpdate(update(name, edit), BOT, [SECRET]).kind).toBe('ignored');
  });

  it('takes a photo caption as the text', () => {
    const event = eventOf(
      classifyTelegramUpdate(
        update('update-message.json', (d) => {
          delete d.message.text;
          d.message.caption = 'the broken page';
        }),
        BOT,
        [SECRET],
      ),
    );
    expect(event.answer).toBe('the broken page');
  });
});

describe('classifyTelegramUpdate: callback queries', () => {
  function press(data: string, edit?: (doc: any) => void) {
    return update('update-callback-query.json', (d) => {
      d.callback_query.data = data;
      d.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data = data;
      edit?.(d);
    });
  }

  it('a signed token: a verified button press, answered later by callback query id', () => {
    const token = signButtonToken({ kind: 'answer', waitId: WAIT_ID, choice: 1 }, SECRET);
    const outcome = classifyTelegramUpdate(press(token), BOT, ['older-secret-000000', SECRET]);
    expect(outcome).toMatchObject({ kind: 'event', callbackQueryId: '4767012345678901234' });
    const event = eventOf(outcome);
    expect(event).toMatchObject({
      externalId: 'main:100000004',
      conversationKey: 'telegram:main:111111111',
      actor: { id: 'telegram:111111111', name: 'Alice Example' },
      button: { kind: 'answer', waitId: WAIT_ID, choice: 1 },
      answer: null,
      command: null,
      replyTo: null,
      route: { ...BOT.route, openKind: null },
      replyAddress: { channel: 'telegram', target: 'main:111111111' },
    });
    expect(event.body).toMatchObject({
      text: 'Approve',
      messageId: 104,
      callbackQueryId: '4767012345678901234',
      choice: 1,
    });
  });

  it('the fixture’s own callback_data (not a workgate token) is refused, nothing to ingest', () => {
    expect(classifyTelegramUpdate(update('update-callback-query.json'), BOT, [SECRET])).toEqual({
      kind: 'forged_button',
      callbackQueryId: '4767012345678901234',
      reason: 'callback_data is not a valid workgate button token',
    });
    expect(FORGED_BUTTON_FEEDBACK).toMatch(/not valid/);
  });

  it('a token signed with another secret, or altered by one character, is refused', () => {
    const token = signButtonToken(
      { kind: 'answer', waitId: WAIT_ID, choice: 0 },
      'not-our-secret-0000',
    );
    expect(classifyTelegramUpdate(press(token), BOT, [SECRET]).kind).toBe('forged_button');
    const ours = signButtonToken({ kind: 'answer', waitId: WAIT_ID, choice: 0 }, SECRET);
    const altered = `${ours.slice(0, 20)}${ours[20] === 'A' ? 'B' : 'A'}${ours.slice(21)}`;
    expect(classifyTelegramUpdate(press(altered), BOT, [SECRET]).kind).toBe('forged_button');
  });

  it('a press whose message Telegram left out is answered, not routed', () => {
    const token = signButtonToken({ kind: 'answer', waitId: WAIT_ID, choice: 0 }, SECRET);
    expect(
      classifyTelegramUpdate(
        press(token, (d) => delete d.callback_query.message),
        BOT,
        [SECRET],
      ),
    ).toMatchObject({
      kind: 'ignored',
      callbackQueryId: '4767012345678901234',
      feedback: expect.any(String),
    });
  });

  it('a callback without data (a game) is answered and ignored', () => {
    expect(
      classifyTelegramUpdate(
        update('update-callback-query.json', (d) => delete d.callback_query.data),
        BOT,
        [SECRET],
      ),
    ).toMatchObject({ kind: 'ignored', callbackQueryId: '4767012345678901234' });
  });
});

describe(parseTelegramCommand.name, () => {
  it.each([
    ['/new', 'new', ''],
    ['/new deploy prod', 'new', 'deploy prod'],
    ['/cancel', 'cancel', ''],
    ['/STATUS', 'status', ''],
    ['/status@workgate_test_bot', 'status', ''],
    ['/status@Workgate_Test_Bot now', 'status', 'now'],
    ['/forget', 'forget', ''],
    ['/memory@workgate_test_bot', 'memory', ''],
    ['/start', 'help', ''],
    ['/start ref-42', 'help', 'ref-42'],
    ['/help@workgate_test_bot', 'help', ''],
    ['/reset', 'new', ''],
    ['/settings', null, '/settings'],
    ['/newer', null, '/newer'],
    ['please /cancel', null, 'please /cancel'],
    ['  plain text  ', null, 'plain text'],
  ])('%j → %s %j', (text, command, rest) => {
    expect(parseTelegramCommand(text, 'workgate_test_bot')).toEqual({
      command,
      text: rest,
      addressedElsewhere: false,
    });
  });

  it('flags a command addressed to another bot', () => {
    expect(parseTelegramCommand('/cancel@other_bot', 'workgate_test_bot')).toEqual({
      command: null,
      text: '/cancel@other_bot',
      addressedElsewhere: true,
    });
  });
});

describe('Telegram targets', () => {
  it.each([
    ['main:111111111', { bot: 'main', chatId: 111111111 }],
    ['main:-1001234567890:42', { bot: 'main', chatId: -1001234567890, topicId: 42 }],
    ['ops:@workgate_fake_channel', { bot: 'ops', chatId: '@workgate_fake_channel' }],
    ['main', null],
    ['main:abc', null],
    [':1', null],
    ['main:1:x', null],
    ['main:1:2:3', null],
  ])('%s', (target, parsed) => {
    expect(parseTelegramTarget(target)).toEqual(parsed);
  });

  it('round-trips what normalization builds', () => {
    expect(parseTelegramTarget(telegramTarget('main', -100123, 7))).toEqual({
      bot: 'main',
      chatId: -100123,
      topicId: 7,
    });
  });
});

describe('Telegram update parsing', () => {
  it('replaces what jsonb cannot store instead of refusing an authentic update', () => {
    expect(storableUpdate({ text: 'a\u0000b', k: ['\ud800'] })).toEqual({
      text: 'a\uFFFDb',
      k: ['\uFFFD'],
    });
    const doc = telegramFixture<any>('update-message.json');
    doc.message.text = 'nul\u0000here';
    expect(toTelegramUpdate(doc).message?.text).toBe('nul\uFFFDhere');
  });

  it.each([
    ['not JSON', '{"update_id":', 'not valid JSON'],
    ['no update_id', '{"message":{}}', 'update_id'],
    ['a negative update_id', '{"update_id":-1}', 'update_id'],
    [
      'a message without chat',
      '{"update_id":1,"message":{"message_id":1,"date":1}}',
      'message.chat',
    ],
  ])('refuses %s with 400 malformed_body', (_label, body, words) => {
    expect(() => parseTelegramUpdateBody(Buffer.from(body))).toThrow(
      expect.objectContaining({ code: 'malformed_body', message: expect.stringContaining(words) }),
    );
  });
});

describe('classifyTelegramUpdate: groups', () => {
  /** A plain supergroup message from Alice (the forum fixture without its topic). */
  const inGroup = (text: string, edit?: (m: any) => void) =>
    update('update-forum-topic-message.json', (d) => {
      delete d.message.is_topic_message;
      delete d.message.message_thread_id;
      delete d.message.reply_to_message;
      d.message.text = text;
      d.message.entities = [];
      edit?.(d.message);
    });
  const mention = (text: string, handle: string) => (m: any) =>
    (m.entities = [{ type: 'mention', offset: text.indexOf(handle), length: handle.length }]);

  it('ignores a group message that does not address the bot', () => {
    expect(classifyTelegramUpdate(inGroup('lunch at noon?'), BOT, [SECRET])).toEqual({
      kind: 'ignored',
      reason: 'a group message not addressed to the bot',
    });
  });

  it('takes an @mention (any case), without the mention in its text', () => {
    const text = 'hey @WorkGate_Test_Bot, deploy v2\nplease';
    const event = eventOf(
      classifyTelegramUpdate(inGroup(text, mention(text, '@WorkGate_Test_Bot')), BOT, [SECRET]),
    );
    expect(event.body).toMatchObject({ text: 'hey, deploy v2\nplease' });
    expect(event.answer).toBe('hey, deploy v2\nplease');
    expect(event.conversationKey).toBe('telegram:main:-1001234567890/u111111111');
  });

  it('takes a text_mention of the bot, a reply to the bot and a command', () => {
    const named = inGroup('Workgate do it', (m) => {
      m.entities = [{ type: 'text_mention', offset: 0, length: 8, user: { id: FIXTURE_BOT_ID } }];
    });
    expect(eventOf(classifyTelegramUpdate(named, BOT, [SECRET])).body).toMatchObject({
      text: 'do it',
    });
    const reply = inGroup('yes', (m) => {
      m.reply_to_message = { message_id: 9, from: { id: FIXTURE_BOT_ID, is_bot: true } };
    });
    expect(eventOf(classifyTelegramUpdate(reply, BOT, [SECRET])).replyTo).toEqual({
      target: 'main:-1001234567890',
      providerMessageId: '9',
    });
    expect(eventOf(classifyTelegramUpdate(inGroup('/status'), BOT, [SECRET])).command).toBe(
      'status',
    );
  });

  it('a mention of someone else is not one of the bot; without a username only text mentions count', () => {
    const text = '@bob_example have a look';
    const other = inGroup(text, mention(text, '@bob_example'));
    expect(classifyTelegramUpdate(other, BOT, [SECRET]).kind).toBe('ignored');
    const mine = 'hi @workgate_test_bot';
    const { username: _u, ...nameless } = BOT;
    expect(
      classifyTelegramUpdate(inGroup(mine, mention(mine, '@workgate_test_bot')), nameless, [SECRET])
        .kind,
    ).toBe('ignored');
  });

  it('requireMention: false hears every group message, still one conversation per person', () => {
    const event = eventOf(
      classifyTelegramUpdate(inGroup('lunch at noon?'), { ...BOT, requireMention: false }, [
        SECRET,
      ]),
    );
    expect(event.conversationKey).toBe('telegram:main:-1001234567890/u111111111');
  });

  it("a button press is the presser's conversation", () => {
    const token = signButtonToken({ kind: 'answer', waitId: WAIT_ID, choice: 1 }, SECRET);
    const outcome = classifyTelegramUpdate(
      toTelegramUpdate({
        update_id: 7,
        callback_query: {
          id: 'cb-7',
          from: { id: 333, is_bot: false, first_name: 'Carol' },
          data: token,
          message: {
            message_id: 12,
            date: 1,
            chat: { id: -1001234567890, type: 'supergroup' },
            from: { id: FIXTURE_BOT_ID, is_bot: true },
          },
        },
      }),
      BOT,
      [SECRET],
    );
    expect(eventOf(outcome).conversationKey).toBe('telegram:main:-1001234567890/u333');
  });

  it('private chats are heard whatever requireMention says, one conversation per chat', () => {
    const event = eventOf(classifyTelegramUpdate(update('update-message.json'), BOT, [SECRET]));
    expect(event.conversationKey).not.toContain('/u');
  });
});
