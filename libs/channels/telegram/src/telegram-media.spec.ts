import { telegramAttachments } from './telegram-media';
import { classifyTelegramUpdate, type TelegramBotRef } from './telegram-normalize';
import { parseTelegramUpdate } from './telegram-payloads';

const BOT: TelegramBotRef = {
  name: 'main',
  botId: 42,
  route: { openKind: 'assistant', busyPolicy: 'inbox', collectWindowMs: 0 },
};
const from = { id: 7, is_bot: false, first_name: 'Ana' };
const chat = { id: 7, type: 'private' };

describe(telegramAttachments.name, () => {
  it('takes the largest size of a photo, with Telegram’s implied type', () => {
    const refs = telegramAttachments(
      {
        photo: [
          { file_id: 'small', file_unique_id: 's', file_size: 100, width: 90 },
          { file_id: 'big', file_unique_id: 'b', file_size: 50_000, width: 1280 },
        ],
      },
      'main',
      'main:9',
    );
    expect(refs).toEqual([
      {
        id: 'main:9#0',
        channel: 'telegram',
        source: 'main',
        kind: 'photo',
        name: null,
        mime: 'image/jpeg',
        size: 50_000,
        fileId: 'big',
      },
    ]);
  });

  it('reads documents, voice notes and audio', () => {
    const refs = telegramAttachments(
      {
        document: { file_id: 'd', file_name: 'a.csv', mime_type: 'text/csv', file_size: 10 },
        voice: { file_id: 'v', duration: 3 },
        audio: { file_id: 'a', file_name: 'x.mp3', mime_type: 'audio/mpeg' },
      },
      'main',
      'main:1',
    );
    expect(refs.map((r) => [r.id, r.kind, r.name, r.mime, r.size])).toEqual([
      ['main:1#0', 'document', 'a.csv', 'text/csv', 10],
      ['main:1#1', 'voice', null, 'audio/ogg', null],
      ['main:1#2', 'audio', 'x.mp3', 'audio/mpeg', null],
    ]);
  });

  it('a captionless photo is an event with empty text and its file; the answer carries the file', () => {
    const update = parseTelegramUpdate({
      update_id: 5,
      message: {
        message_id: 1,
        from,
        chat,
        date: 1,
        photo: [{ file_id: 'p', file_unique_id: 'u', width: 1 }],
      },
    });
    const outcome = classifyTelegramUpdate(update, BOT, ['secret']);
    expect(outcome.kind).toBe('event');
    if (outcome.kind !== 'event') return;
    expect(outcome.event.body).toMatchObject({
      text: '',
      attachments: [{ id: 'main:5#0', fileId: 'p' }],
    });
    expect(outcome.event.answer).toMatchObject({ text: '', attachments: [{ id: 'main:5#0' }] });
  });

  it('a caption is the text; a message with neither text nor file is still ignored', () => {
    const withCaption = classifyTelegramUpdate(
      parseTelegramUpdate({
        update_id: 6,
        message: {
          message_id: 2,
          from,
          chat,
          date: 1,
          caption: 'look',
          document: { file_id: 'd' },
        },
      }),
      BOT,
      ['secret'],
    );
    expect(withCaption.kind === 'event' && withCaption.event.body).toMatchObject({ text: 'look' });
    const service = classifyTelegramUpdate(
      parseTelegramUpdate({
        update_id: 7,
        message: { message_id: 3, from, chat, date: 1, new_chat_title: 'x' },
      }),
      BOT,
      ['secret'],
    );
    expect(service.kind).toBe('ignored');
  });
});
