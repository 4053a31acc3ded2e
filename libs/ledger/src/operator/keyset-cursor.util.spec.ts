import { WorkgateError } from '@app/core';
import { decodeCursor, encodeCursor, nextCursorOf } from './keyset-cursor.util';

describe('keyset cursors', () => {
  const position = {
    at: new Date('2026-11-24T10:11:12.345Z'),
    id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  };

  it('round-trips a position, to the millisecond', () => {
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it.each([
    ['not base64 JSON', '!!!'],
    ['JSON of the wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    [
      'a bad date',
      Buffer.from('["yesterday","0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]').toString('base64url'),
    ],
    ['a bad id', Buffer.from('["2026-11-24T10:11:12.345Z","1; DROP TABLE"]').toString('base64url')],
  ])('refuses %s as a validation error', (_label, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(WorkgateError);
    expect(() => decodeCursor(cursor)).toThrow(/cursor/);
  });

  it('gives a next cursor only for a full page', () => {
    const rows = [position, position];
    expect(nextCursorOf(rows, 3, (r) => r)).toBeNull();
    expect(decodeCursor(nextCursorOf(rows, 2, (r) => r)!)).toEqual(position);
  });
});
