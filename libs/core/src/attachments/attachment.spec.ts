import {
  answerOf,
  attachmentUse,
  attachmentsOf,
  decodeTextFile,
  defaultAttachmentName,
  formatBytes,
  limitFor,
  mediaTypeOf,
} from './attachment';

const LIMITS = { maxBytes: 1000, imageMaxBytes: 500, audioMaxBytes: 800, textMaxChars: 10 };

describe('attachment rules', () => {
  it.each([
    ['image/png', 'a.png', 'image'],
    ['image/jpeg', null, 'image'],
    ['audio/ogg', null, 'audio'],
    ['audio/mpeg', 'song.mp3', 'audio'],
    ['text/csv', 'x.csv', 'text'],
    ['application/json', 'x.json', 'text'],
    ['application/vnd.api+json', 'x', 'text'],
    ['text/x-python', 'main.py', 'text'],
    ['application/pdf', 'c.pdf', null],
    ['video/mp4', 'v.mp4', null],
    ['image/tiff', 'scan.tiff', null],
  ])('%s (%s) → %s', (mime, name, use) => {
    expect(attachmentUse(mime, name)).toBe(use);
  });

  it('guesses the type from the name when the provider says octet-stream or nothing', () => {
    expect(mediaTypeOf('application/octet-stream', 'main.ts')).toBe('text/plain');
    expect(mediaTypeOf(null, 'photo.JPG')).toBe('image/jpeg');
    expect(mediaTypeOf('text/csv; charset=utf-8', 'x')).toBe('text/csv');
    expect(mediaTypeOf(null, 'blob')).toBe('application/octet-stream');
  });

  it('limits by use, never above the overall limit', () => {
    expect(limitFor('image', LIMITS)).toBe(500);
    expect(limitFor('audio', LIMITS)).toBe(800);
    expect(limitFor('text', LIMITS)).toBe(1000);
    expect(limitFor(null, { ...LIMITS, maxBytes: 100 })).toBe(100);
    expect(limitFor('image', { ...LIMITS, maxBytes: 100 })).toBe(100);
  });

  it('formats sizes for people', () => {
    expect(formatBytes(12)).toBe('12 bytes');
    expect(formatBytes(64 * 1024)).toBe('64 KB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5 MB');
    expect(formatBytes(1.5 * 1024 * 1024)).toBe('1.5 MB');
  });

  it('names files that came without a name', () => {
    expect(defaultAttachmentName('photo', 'image/jpeg')).toBe('photo.jpg');
    expect(defaultAttachmentName('voice', 'audio/ogg')).toBe('voice.ogg');
    expect(defaultAttachmentName('file', 'application/x-thing')).toBe('file.bin');
  });

  it('reads text, cuts it at the limit, and refuses binary', () => {
    expect(decodeTextFile('short', 10)).toEqual({ text: 'short', truncated: false });
    expect(decodeTextFile('0123456789abc', 10)).toEqual({ text: '0123456789', truncated: true });
    expect(decodeTextFile('a\u0000b', 10)).toEqual({ binary: true });
    expect(decodeTextFile('\uFFFD\uFFFDab', 10)).toEqual({ binary: true });
  });

  it('answers a wait with the text, or text and files', () => {
    const ref = {
      id: 'b:1#0',
      channel: 'telegram',
      source: 'b',
      kind: 'photo' as const,
      name: null,
      mime: null,
      size: 1,
    };
    expect(answerOf('hi', [])).toBe('hi');
    expect(answerOf('', [ref])).toEqual({ text: '', attachments: [ref] });
    expect(attachmentsOf({ text: 'x', attachments: [ref, { nope: 1 }] })).toEqual([ref]);
    expect(attachmentsOf({ attachments: 'no' })).toEqual([]);
    expect(attachmentsOf(null)).toEqual([]);
  });
});
