import { costOf } from './pricing.util';

describe(costOf.name, () => {
  const prices = { 'gpt-4o': { input: 2.5, output: 10 } };
  const usage = { inputTokens: 1_000_000, outputTokens: 0, cachedTokens: 0 } as never;

  it('prices a model and its dated snapshot', () => {
    expect(costOf(prices, 'gpt-4o', usage)).toBe(2.5);
    expect(costOf(prices, 'gpt-4o-2024-08-06', usage)).toBe(2.5);
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'a model named %s (as a provider may answer) is unpriced, not Object’s own',
    (model) => {
      expect(costOf(prices, model, usage)).toBe(0);
    },
  );
});
