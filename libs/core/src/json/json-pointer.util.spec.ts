import fc from 'fast-check';
import { parsePointer, readPointer } from './json-pointer.util';

describe('readPointer', () => {
  // The example document of RFC 6901 §5.
  const rfc: unknown = JSON.parse(
    '{"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,"i\\\\j":5,"k\\"l":6," ":7,"m~n":8}',
  );

  it.each<[string, unknown]>([
    ['', rfc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('RFC 6901 §5: %j', (pointer, expected) => {
    expect(readPointer(rfc, pointer)).toEqual(expected);
  });

  const doc: unknown = JSON.parse(
    '{"id":"evt_1","data":{"object":{"id":"pi_1","items":[{"n":0},{"n":1}],"nothing":null}},"~1":"tilde-one","__proto__":"own"}',
  );

  it.each<[string, unknown]>([
    ['/id', 'evt_1'],
    ['/data/object/id', 'pi_1'],
    ['/data/object/items/1/n', 1],
    ['/data/object/nothing', null],
    ['/~01', 'tilde-one'],
    ['/__proto__', 'own'],
  ])('reads %j', (pointer, expected) => {
    expect(readPointer(doc, pointer)).toEqual(expected);
  });

  it.each([
    ['a missing member', '/missing'],
    ['below a missing member', '/missing/deeper'],
    ['below null', '/data/object/nothing/x'],
    ['below a string', '/id/0'],
    ['an index past the end', '/data/object/items/2'],
    ['"-" (the element after the last)', '/data/object/items/-'],
    ['an index with a leading zero', '/data/object/items/01'],
    ['a negative index', '/data/object/items/-1'],
    ['a non-numeric index', '/data/object/items/n'],
    ['an inherited array member', '/data/object/items/length'],
    ['an inherited object member', '/constructor'],
    ['an inherited method', '/data/toString'],
  ])('is undefined for %s', (_label, pointer) => {
    expect(readPointer(doc, pointer)).toBeUndefined();
  });

  it.each([null, 'text', 42, true, undefined])(
    'is undefined below the scalar %j and the scalar itself at ""',
    (scalar) => {
      expect(readPointer(scalar, '/x')).toBeUndefined();
      expect(readPointer(scalar, '')).toBe(scalar);
    },
  );

  it.each(['id', 'a/b', '/~2', '/a~', '/~'])('throws on the malformed pointer %j', (pointer) => {
    expect(() => readPointer(doc, pointer)).toThrow(SyntaxError);
  });

  it('property: any own key, escaped, reads back its value', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), (key, value) => {
        const escaped = key.replace(/~/g, '~0').replace(/\//g, '~1');
        const container = JSON.parse(JSON.stringify({ [key]: value })) as unknown;
        expect(parsePointer(`/${escaped}`)).toEqual([key]);
        expect(readPointer(container, `/${escaped}`)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
