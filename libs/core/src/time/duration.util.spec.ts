import fc from 'fast-check';
import { parseDurationMs } from './duration.util';

fc.configureGlobal({ seed: 0xd0_7a, numRuns: 1_000 });

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

describe(parseDurationMs.name, () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['2d3h4m5s6ms', 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000 + 6],
    ['1m1ms', 60_001],
    ['1.5h', 5_400_000],
    ['0.5s', 500],
    ['0s', 0],
    [' 10s ', 10_000],
    ['10S', 10_000],
    ['1500', 1_500],
    ['1500.4', 1_500],
    [1_500, 1_500],
    [2.6, 3],
    [0, 0],
  ] as const)('parses %p as %i ms', (input, expected) => {
    expect(parseDurationMs(input)).toBe(expected);
  });

  const GARBAGE: (string | number)[] = [
    '',
    '   ',
    'abc',
    's',
    'ms',
    '10x',
    '10sec',
    '1m1',
    '-5s',
    '-5',
    '1e3',
    '.5h',
    '1.h',
    '1,5h',
    'h1',
    '1h-30m',
    // Enough digits overflow Number to Infinity.
    '9'.repeat(400),
    `${'9'.repeat(400)}d`,
    -5,
    NaN,
    Infinity,
  ];
  const shown = (input: string | number) =>
    typeof input !== 'string'
      ? String(input)
      : input.length > 20
        ? `${input.length} chars ("${input.slice(0, 3)}…${input.slice(-2)}")`
        : JSON.stringify(input);

  it.each(GARBAGE.map((input) => [shown(input), input] as const))(
    'rejects %s rather than reading it as 0',
    (_shown, input) => {
      expect(parseDurationMs(input)).toBeUndefined();
    },
  );

  it('adds up the parts of a compound', () => {
    const arbPart = fc.tuple(
      fc.integer({ min: 0, max: 1_000 }),
      fc.constantFrom(...(Object.keys(UNIT_MS) as (keyof typeof UNIT_MS)[])),
    );
    fc.assert(
      fc.property(fc.array(arbPart, { minLength: 1, maxLength: 6 }), (parts) => {
        const text = parts.map(([n, unit]) => `${n}${unit}`).join('');
        const expected = parts.reduce((sum, [n, unit]) => sum + n * UNIT_MS[unit], 0);
        expect(parseDurationMs(text)).toBe(expected);
      }),
    );
  });

  it('returns a finite whole number of ms, or undefined, for any input', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[0-9.]{0,400}(ms|s|m|h|d|w)?$/), fc.double()),
        (input) => {
          const ms = parseDurationMs(input);
          if (ms === undefined) return;
          expect(Number.isFinite(ms) && Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
