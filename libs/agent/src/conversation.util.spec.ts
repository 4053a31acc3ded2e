import { type LlmMessage } from '@app/engine';
import { budgetPassed, isHostAllowed, raiseLimit, trimOldestTurn } from './conversation.util';
import { costOf } from './pricing.util';
import { retryAfterMs } from './openai-model.client';

const msg = (role: LlmMessage['role'], content: string = role): LlmMessage => ({ role, content });

describe(trimOldestTurn.name, () => {
  it('drops the first message after the system prompt', () => {
    const out = trimOldestTurn({
      model: 'm',
      messages: [msg('system'), msg('user', 'a'), msg('user', 'b')],
    });
    expect(out?.messages.map((m) => m.content)).toEqual(['system', 'b']);
  });
  it('drops an assistant message together with its tool results', () => {
    const messages = [msg('system'), msg('assistant'), msg('tool'), msg('tool'), msg('user')];
    expect(trimOldestTurn({ model: 'm', messages })?.messages.map((m) => m.role)).toEqual([
      'system',
      'user',
    ]);
  });
  it('never drops the last message', () => {
    expect(trimOldestTurn({ model: 'm', messages: [msg('system'), msg('user')] })).toBeNull();
    expect(trimOldestTurn({ model: 'm', messages: [msg('assistant'), msg('tool')] })).toBeNull();
  });
});

describe(budgetPassed.name, () => {
  const limits = { tokens: 1000, costUsd: 0.5, turns: 3 };
  it.each([
    [{ tokens: 0, costUsd: 0, turns: 0 }, null],
    [{ tokens: 1000, costUsd: 0, turns: 0 }, 'tokens'],
    [{ tokens: 10, costUsd: 0.5, turns: 0 }, 'costUsd'],
    [{ tokens: 10, costUsd: 0.1, turns: 3 }, 'turns'],
  ] as const)('%j → %s', (spent, expected) => {
    expect(budgetPassed(spent, limits)).toBe(expected);
  });
  it('an approval raises the passed limit by its configured amount', () => {
    expect(raiseLimit({ ...limits, turns: 6 }, limits, 'turns')).toMatchObject({ turns: 9 });
    expect(raiseLimit(limits, limits, 'costUsd')).toMatchObject({ costUsd: 1 });
  });
  it('unset limits are never passed', () => {
    expect(budgetPassed({ tokens: 1e9, costUsd: 1e9, turns: 1 }, { turns: 2 })).toBeNull();
  });
});

describe(isHostAllowed.name, () => {
  const allow = ['api.example.com', '*.internal.test', '127.0.0.1:8080'];
  it.each([
    ['https://api.example.com/x', true],
    ['http://api.example.com:9999/x', true],
    ['https://evil.com/api.example.com', false],
    ['https://a.b.internal.test/', true],
    ['https://internal.test/', false],
    ['http://127.0.0.1:8080/', true],
    ['http://127.0.0.1:8081/', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
  ])('%s → %s', (url, expected) => {
    expect(isHostAllowed(url, allow)).toBe(expected);
  });
});

describe(costOf.name, () => {
  const prices = {
    'gpt-4o': { input: 2.5, output: 10, cached: 1.25 },
    cheap: { input: 1, output: 1 },
  };
  it('bills cached input at the cached price, per 1M tokens', () => {
    expect(
      costOf(prices, 'gpt-4o', {
        inputTokens: 1_000_000,
        outputTokens: 100_000,
        cachedTokens: 200_000,
      }),
    ).toBeCloseTo(0.8 * 2.5 + 0.2 * 1.25 + 0.1 * 10, 6);
  });
  it('falls back to the base model for a dated snapshot, and to 0 for an unknown model', () => {
    const usage = { inputTokens: 1000, outputTokens: 0, cachedTokens: 0 };
    expect(costOf(prices, 'gpt-4o-2024-08-06', usage)).toBeCloseTo(0.0025, 6);
    expect(costOf(prices, 'mystery', usage)).toBe(0);
    expect(costOf(prices, 'cheap', { ...usage, cachedTokens: 500 })).toBeCloseTo(0.001, 6);
  });
});

describe(retryAfterMs.name, () => {
  it('reads seconds, an HTTP date, and retry-after-ms', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' }))).toBe(150);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now)).toBe(
      5000,
    );
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
