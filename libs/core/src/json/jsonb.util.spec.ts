import fc from 'fast-check';
import { jsonbProblem, nestingProblem, storableCopy, toJsonbText } from './jsonb.util';

describe('toJsonbText', () => {
  it.each<[string, unknown, RegExp]>([
    ['a NUL in a string', { a: ['x\u0000y'] }, /NUL character .* at "\/a\/0"/],
    ['a NUL in a key', { 'k\u0000': 1 }, /NUL character .* in a key at "\/k\\u0000"/],
    ['a lone high surrogate', { s: '\ud800' }, /unpaired UTF-16 surrogate at "\/s"/],
    ['a lone low surrogate', ['ok', 'x\udc00'], /unpaired UTF-16 surrogate at "\/1"/],
    ['nesting past the limit', JSON.parse('['.repeat(130) + ']'.repeat(130)), /deeper than 128/],
    ['a BigInt', { n: 1n }, /is not JSON: .*BigInt/],
  ])('refuses %s', (_label, value, problem) => {
    const out = toJsonbText(value);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.problem).toMatch(problem);
  });

  it('refuses a cycle', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toJsonbText(cyclic)).toMatchObject({ ok: false, problem: /is not JSON/ });
  });

  it.each<[string, unknown]>([
    ['a surrogate pair', { s: '😀' }],
    ['an escaped backslash before u0000', { s: '\\u0000' }],
    ['undefined (stored as null)', undefined],
    ['nesting at the limit', JSON.parse('['.repeat(128) + ']'.repeat(128))],
  ])('takes %s', (_label, value) => {
    expect(toJsonbText(value)).toEqual({ ok: true, text: JSON.stringify(value) ?? 'null' });
  });

  it('property: the scan agrees with the walk over the parsed value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string({ unit: 'binary' }), (doc, s) => {
        for (const value of [doc, { doc, s }, [s, doc]]) {
          const out = toJsonbText(value);
          const problem = jsonbProblem(JSON.parse(JSON.stringify(value)));
          expect(out.ok).toBe(problem === null);
        }
      }),
    );
  });
});

describe('storableCopy', () => {
  it('replaces what jsonb refuses and keeps the rest', () => {
    const copy = storableCopy({ 'k\u0000': ['a\u0000b', '\ud800', '😀', 1, null, 2n] });
    expect(copy).toEqual({ 'k\ufffd': ['a\ufffdb', '\ufffd', '😀', 1, null, '2'] });
    expect(jsonbProblem(copy)).toBeNull();
  });
});

describe('nesting: one convention (a container is a level; a scalar adds none)', () => {
  const nested = (levels: number, inner: string) =>
    JSON.parse('['.repeat(levels) + inner + ']'.repeat(levels)) as unknown;

  it.each<[string, number, string, boolean]>([
    ['128 levels, empty', 128, '', true],
    ['128 levels, a scalar inside', 128, '1', true],
    ['129 levels, empty', 129, '', false],
    ['129 levels, a scalar inside', 129, '1', false],
  ])('%s', (_label, levels, inner, ok) => {
    const doc = nested(levels, inner);
    expect(jsonbProblem(doc) === null).toBe(ok);
    expect(nestingProblem(doc) === null).toBe(ok);
    expect(toJsonbText(doc).ok).toBe(ok);
  });

  it('storableCopy cuts at the same level', () => {
    expect(jsonbProblem(storableCopy(nested(300, '1')))).toBeNull();
    expect(storableCopy(nested(128, '1'))).toEqual(nested(128, '1'));
  });

  it('10 000 levels are refused without overflowing the stack', () => {
    const doc = nested(10_000, '');
    expect(nestingProblem(doc)).toMatch(/deeper than 128/);
    expect(jsonbProblem(doc)).toMatch(/deeper than 128/);
  });
});
