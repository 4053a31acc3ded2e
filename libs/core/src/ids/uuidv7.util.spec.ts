import fc from 'fast-check';
import { UUID_PATTERN, uuidv7, uuidv7Timestamp } from './uuidv7.util';

fc.configureGlobal({ seed: 0x77_1d, numRuns: 1_000 });

const MAX_MS = 2 ** 48 - 1;
const arbMs = fc.integer({ min: 0, max: MAX_MS });
const arbRandom = fc.uint8Array({ minLength: 10, maxLength: 10 });

describe(uuidv7.name, () => {
  it('matches the RFC 9562 example (appendix A.6)', () => {
    const random = Uint8Array.from([0x0c, 0xc3, 0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]);
    expect(uuidv7(0x017f22e279b0, random)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });

  it('sets version 7 and variant 10 whatever the random bytes', () => {
    expect(uuidv7(0, new Uint8Array(10).fill(0xff))).toBe('00000000-0000-7fff-bfff-ffffffffffff');
    expect(uuidv7(0, new Uint8Array(10))).toBe('00000000-0000-7000-8000-000000000000');
    fc.assert(
      fc.property(arbMs, arbRandom, (ms, random) => {
        const id = uuidv7(ms, random);
        expect(id).toMatch(UUID_PATTERN);
        expect(id[14]).toBe('7');
        expect('89ab').toContain(id[19]);
      }),
    );
  });

  it('keeps the random bytes apart from the version and variant bits', () => {
    fc.assert(
      fc.property(arbMs, arbRandom, (ms, random) => {
        const hex = uuidv7(ms, random).replace(/-/g, '');
        const bytes = Array.from({ length: 16 }, (_, i) =>
          parseInt(hex.slice(2 * i, 2 * i + 2), 16),
        );
        expect(bytes[6]! & 0x0f).toBe(random[0]! & 0x0f);
        expect(bytes[7]).toBe(random[1]);
        expect(bytes[8]! & 0x3f).toBe(random[2]! & 0x3f);
        expect(bytes.slice(9)).toEqual(Array.from(random.subarray(3)));
      }),
    );
  });

  it('round-trips its timestamp', () => {
    fc.assert(
      fc.property(arbMs, arbRandom, (ms, random) =>
        expect(uuidv7Timestamp(uuidv7(ms, random))).toBe(ms),
      ),
    );
    expect(uuidv7Timestamp(uuidv7(MAX_MS, new Uint8Array(10)))).toBe(MAX_MS);
  });

  it('drops fractions of a millisecond', () => {
    expect(uuidv7Timestamp(uuidv7(1_700_000_000_123.9, new Uint8Array(10)))).toBe(
      1_700_000_000_123,
    );
  });

  it('sorts by time: a later millisecond gives a greater id, whatever the random bytes', () => {
    fc.assert(
      fc.property(
        arbMs,
        fc.integer({ min: 1, max: 1_000_000 }),
        arbRandom,
        arbRandom,
        (ms, gap, r1, r2) => {
          fc.pre(ms + gap <= MAX_MS);
          const earlier = uuidv7(ms, r1);
          const later = uuidv7(ms + gap, r2);
          expect(earlier < later).toBe(true);
        },
      ),
    );
  });

  it('needs 10 random bytes', () => {
    expect(() => uuidv7(0, new Uint8Array(9))).toThrow(RangeError);
  });
});
