import fc from 'fast-check';
import { SHORT_ID_LENGTH, shortWorkId } from './short-id.util';
import { uuidv7 } from './uuidv7.util';

fc.configureGlobal({ seed: 0x5407, numRuns: 500 });

describe(shortWorkId.name, () => {
  it('keeps the random tail, not the time prefix', () => {
    expect(shortWorkId('01a24163-7c2e-7d41-9f3b-0c1d2e3f4a5b')).toBe('2e3f4a5b');
  });

  it('differs for works made in the same millisecond', () => {
    const ms = 1_764_800_000_000;
    const a = uuidv7(ms, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const b = uuidv7(ms, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]));
    expect(a.slice(0, 8)).toBe(b.slice(0, 8));
    expect(shortWorkId(a)).not.toBe(shortWorkId(b));
  });

  it('is the last hex characters of the id, whatever the id', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.uint8Array({ minLength: 10, maxLength: 10 }),
        (ms, random) => {
          const id = uuidv7(ms, random);
          const short = shortWorkId(id);
          expect(short).toMatch(new RegExp(`^[0-9a-f]{${SHORT_ID_LENGTH}}$`));
          expect(id.endsWith(short)).toBe(true);
        },
      ),
    );
  });

  it('leaves an id shorter than the short form as it is', () => {
    expect(shortWorkId('abc')).toBe('abc');
    expect(shortWorkId('')).toBe('');
  });
});
