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

/** An error as node-postgres reports a statement PostgreSQL refused. */
const pgError = (code: string, message = `pg ${code}`) =>
  Object.assign(new Error(message), { code });

/** Runs each batch at once; a batch holding a poisoned item fails as PostgreSQL would fail it. */
function poisonExecutor(poisoned: Set<number>, code = '22P05') {
  const batches: number[][] = [];
  const execute = async (items: number[]) => {
    batches.push(items);
    await Promise.resolve();
    if (items.some((i) => poisoned.has(i))) throw pgError(code);
    return items.map((i) => i * 10);
  };
  return { batches, execute };
}

describe('StatementBatcher isolation', () => {
  it.each([
    ['22P05', 'untranslatable character (a NUL in jsonb)'],
    ['22021', 'character not in repertoire (a NUL in text)'],
    ['23505', 'unique violation'],
    ['54001', 'statement too complex (nesting)'],
    ['40P01', 'deadlock'],
    ['40001', 'serialization failure'],
  ])('re-runs each item alone after %s (%s): only the bad item fails', async (code) => {
    const x = poisonExecutor(new Set([3]), code);
    const batcher = new StatementBatcher(x.execute, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1); // alone: the next ones gather behind it
    const rest = [2, 3, 4].map((n) => batcher.submit(n));
    await expect(first).resolves.toBe(10);
    const settled = await Promise.allSettled(rest);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ code });
    expect(x.batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it.each([
    ['ECONNRESET', 'a connection reset'],
    ['57P01', 'an admin shutdown'],
    ['57014', 'a cancelled statement'],
    ['42601', 'a syntax error (the statement itself is wrong)'],
  ])('fails the whole batch at once on %s (%s), without re-running', async (code) => {
    const x = poisonExecutor(new Set([2]), code);
    const batcher = new StatementBatcher(x.execute, { maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1);
    const rest = [2, 3].map((n) => batcher.submit(n));
    await first;
    for (const p of rest) await expect(p).rejects.toMatchObject({ code });
    expect(x.batches).toEqual([[1], [2, 3]]);
  });

  it('does not re-run after an error that did not come from PostgreSQL (it may have committed)', async () => {
    const batches: number[][] = [];
    const batcher = new StatementBatcher<number, number>(
      async (items) => {
        batches.push(items);
        await Promise.resolve();
        if (items.length > 1) throw new TypeError('reading the rows failed');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = batcher.submit(1);
    const rest = [2, 3].map((n) => batcher.submit(n));
    await first;
    for (const p of rest) await expect(p).rejects.toThrow(TypeError);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('an item alone that fails gets its own error, not a re-run', async () => {
    const x = poisonExecutor(new Set([1]));
    const batcher = new StatementBatcher(x.execute, { maxBatch: 10, maxInFlight: 1 });
    await expect(batcher.submit(1)).rejects.toMatchObject({ code: '22P05' });
    expect(x.batches).toEqual([[1]]);
  });
});
