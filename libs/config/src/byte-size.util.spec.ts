import { parseByteSize } from './byte-size.util';

describe(parseByteSize.name, () => {
  it.each([
    ['256kb', 256 * 1024],
    ['1mb', 1024 * 1024],
    [4096, 4096],
  ])('%s → %i bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each<[string, string | number]>([
    ['a 400-digit number (Infinity as a double)', '9'.repeat(400)],
    ['1e400', '1e400'],
    ['1e300 as a number', 1e300],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['0', 0],
    ['0kb', '0kb'],
    ['-1', -1],
  ])('refuses %s: a body limit must be a finite, positive, safe integer', (_label, input) => {
    expect(parseByteSize(input)).toBeUndefined();
  });
});
