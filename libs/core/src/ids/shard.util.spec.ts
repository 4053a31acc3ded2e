import fc from 'fast-check';
import { shardOf } from './shard.util';

describe(shardOf.name, () => {
  it('is always shard 0 of one', () => {
    fc.assert(fc.property(fc.string(), (key) => shardOf(key, 1) === 0));
  });

  it('is a shard in range, the same every time', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 1, max: 64 }), (key, n) => {
        const shard = shardOf(key, n);
        return shard >= 0 && shard < n && shardOf(key, n) === shard;
      }),
    );
  });

  // Fixed values: a change of hash would move every in-flight job to another shard.
  it.each([
    ['0190f5c2-7c3a-7000-8000-000000000001', 3, 0],
    ['0190f5c2-7c3a-7000-8000-000000000002', 3, 1],
    ['0190f5c2-7c3a-7000-8000-000000000003', 3, 2],
    ['abc', 4, 0],
  ])('puts %s of %i shards in shard %i', (key, n, expected) => {
    expect(shardOf(key, n)).toBe(expected);
  });

  it('spreads time-ordered ids evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const id = `0190f5c2-7c3a-7${String(i).padStart(3, '0')}-8000-${String(i).padStart(12, '0')}`;
      counts[shardOf(id, 4)]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('refuses a shard count below 1', () => {
    expect(() => shardOf('x', 0)).toThrow(RangeError);
  });
});
