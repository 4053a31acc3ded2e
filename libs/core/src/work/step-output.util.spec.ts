import fc from 'fast-check';
import { unwrapStepOutput, wrapStepOutput } from './step-output.util';

describe('wrapStepOutput / unwrapStepOutput', () => {
  it.each([
    ['undefined', undefined, {}],
    ['null', null, { v: null }],
    ['a number', 0, { v: 0 }],
    ['a string', '', { v: '' }],
    ['an object', { a: 1 }, { v: { a: 1 } }],
  ])('stores %s in the shape Step.output holds', (_name, value, stored) => {
    expect(wrapStepOutput(value)).toEqual(stored);
  });

  it('returns what was wrapped after a JSON round trip (what jsonb does to it)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(undefined), fc.jsonValue()), (value) => {
        const stored: unknown = JSON.parse(JSON.stringify(wrapStepOutput(value)));
        // JSON itself turns -0 into 0, so compare with the value's own round trip.
        const expected: unknown =
          value === undefined ? undefined : JSON.parse(JSON.stringify(value));
        expect(unwrapStepOutput(stored)).toEqual(expected);
      }),
    );
  });

  it('reads a missing output (a NULL column) as undefined', () => {
    expect(unwrapStepOutput(null)).toBeUndefined();
    expect(unwrapStepOutput(undefined)).toBeUndefined();
  });
});
