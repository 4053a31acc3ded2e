import { UUID_PATTERN } from '@app/core';
import { CryptoIdGenerator } from './crypto-id-generator';

describe(CryptoIdGenerator.name, () => {
  const ids = new CryptoIdGenerator();

  it('draws random() in [0, 1)', () => {
    for (let i = 0; i < 10_000; i++) {
      const r = ids.random();
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThan(1);
    }
  });

  it('makes valid, distinct UUIDv7s', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => ids.uuid()));
    expect(seen.size).toBe(1000);
    for (const id of seen) expect(id).toMatch(UUID_PATTERN);
  });
});
