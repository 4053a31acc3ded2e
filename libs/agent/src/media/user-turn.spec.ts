import { messageOfBody, senderOfBody } from './user-turn';

describe(senderOfBody.name, () => {
  it('names a Telegram group member by display name', () => {
    const body = { text: 'hi', chatType: 'supergroup', from: { id: 1, name: 'Alice Example' } };
    expect(senderOfBody(body)).toBe('Alice Example');
    expect(messageOfBody(body)).toEqual({ text: 'hi', attachments: [], sender: 'Alice Example' });
  });

  it('names a Slack channel member by mention, which Slack shows as their name', () => {
    expect(senderOfBody({ text: 'hi', chatType: 'channel', user: 'U0FAKE01' })).toBe('<@U0FAKE01>');
  });

  it('names nobody in a private chat, a DM, or an answer without its event', () => {
    expect(senderOfBody({ chatType: 'private', from: { name: 'Alice' } })).toBeUndefined();
    expect(senderOfBody({ chatType: 'im', user: 'U0FAKE01' })).toBeUndefined();
    expect(messageOfBody('yes')).toEqual({ text: 'yes', attachments: [] });
  });
});
