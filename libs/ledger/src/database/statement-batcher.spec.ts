import { StatementBatcher } from './statement-batcher';

/** A batch executor the test releases by hand, recording each batch it was given. */
function heldExecutor() {
  const batches: number[][] = [];
  const releases: Array<(fail?: Error) => void> = [];
  const execute = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push(items);
      releases.push((fail) => (fail ? reject(fail) : resolve(items.map((i) => i * 10))));
    });
  return { batches, releases, execute };
}

describe('StatementBatcher', () => {
  it('runs a lone item at once, and groups the items that arrive while batches are in flight', async () => {
    const x = heldExecutor();
    const batcher = new StatementBatcher(x.execute, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1);
    expect(x.batches).toEqual([[1]]);
    const waiting = [2, 3, 4].map((n) => batcher.submit(n));
    expect(x.batches).toEqual([[1]]); // held until the first batch settles
    x.releases[0]!();
    await expect(first).resolves.toBe(10);
    expect(x.batches).toEqual([[1], [2, 3, 4]]);
    x.releases[1]!();
    await expect(Promise.all(waiting)).resolves.toEqual([20, 30, 40]);
  });

  it('keeps maxInFlight batches going and caps each at maxBatch', async () => {
    const x = heldExecutor();
    const batcher = new StatementBatcher(x.execute, { maxBatch: 2, maxInFlight: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => batcher.submit(n));
    expect(x.batches).toEqual([[1], [2]]);
    x.releases[0]!();
    await all[0];
    expect(x.batches).toEqual([[1], [2], [3, 4]]);
    x.releases[1]!();
    x.releases[2]!();
    await Promise.all(all.slice(1, 4));
    expect(x.batches.at(-1)).toEqual([5]);
    x.releases[3]!();
    await expect(Promise.all(all)).resolves.toEqual([10, 20, 30, 40, 50]);
  });

  it('fails every item of a failed batch, and goes on with the next', async () => {
    const x = heldExecutor();
    const batcher = new StatementBatcher(x.execute, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1);
    const second = [batcher.submit(2), batcher.submit(3)];
    x.releases[0]!(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    x.releases[1]!(new Error('still down'));
    await expect(second[0]).rejects.toThrow('still down');
    await expect(second[1]).rejects.toThrow('still down');
    const third = batcher.submit(4);
    x.releases[2]!();
    await expect(third).resolves.toBe(40);
  });
});
