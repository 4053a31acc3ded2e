import { type PersonRef } from '@app/core';
import { LedgerDatabase, PersonMemoryRepository } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { TEST_DATABASE_URL } from '@test/env';

const WORK_A = '01890000-0000-7000-8000-00000000000a';
const WORK_B = '01890000-0000-7000-8000-00000000000b';

const ref = (user: string): PersonRef => ({
  person: `telegram:main:${user}`,
  channel: 'telegram',
  source: 'main',
});

/**
 * The memory table's guarantees on real PostgreSQL: one statement decides a write, so
 * two conversations ending at once cannot both overwrite the version they read, a
 * conversation cannot write back after an erase that followed its start, and a write
 * re-run after a crash counts as written once.
 */
describe(PersonMemoryRepository.name, () => {
  let s: TestSchema;
  let db: LedgerDatabase;
  let memory: PersonMemoryRepository;

  beforeAll(async () => {
    s = await createTestSchema('person_memory');
    db = new LedgerDatabase({ connectionString: TEST_DATABASE_URL, schema: s.schema, poolSize: 4 });
    memory = new PersonMemoryRepository(db);
  });

  afterAll(async () => {
    await db?.close();
    await s?.drop();
  });

  it('writes the version it merged; a stale write is a conflict; a re-run counts as written', async () => {
    const alice = ref('1');
    const since = await memory.now();
    const first = { ref: alice, summary: 'likes tea', expectVersion: 0, since, workId: WORK_A };
    expect(await memory.write(first)).toBe('written');
    expect(await memory.read(alice.person)).toMatchObject({ summary: 'likes tea', version: 1 });
    // Another conversation merged version 0 too, and ends second.
    expect(await memory.write({ ...first, summary: 'likes coffee', workId: WORK_B })).toBe(
      'conflict',
    );
    // The first write again (its step crashed after the commit): nothing changes.
    expect(await memory.write(first)).toBe('written');
    expect(await memory.read(alice.person)).toMatchObject({
      summary: 'likes tea',
      version: 1,
      workId: WORK_A,
    });
  });

  it('two writes of the same version at once: exactly one wins', async () => {
    const bob = ref('2');
    const since = await memory.now();
    const results = await Promise.all(
      [WORK_A, WORK_B].map((workId, i) =>
        memory.write({ ref: bob, summary: `take ${i}`, expectVersion: 0, since, workId }),
      ),
    );
    expect(results.sort()).toEqual(['conflict', 'written']);
    expect((await memory.read(bob.person))?.version).toBe(1);
  });

  it('an erase stops conversations begun before it, not those begun after', async () => {
    const carol = ref('3');
    const before = await memory.now();
    await memory.write({
      ref: carol,
      summary: 'secret',
      expectVersion: 0,
      since: before,
      workId: WORK_A,
    });
    expect(await memory.forget(carol.person)).toEqual({ found: true, erased: true });
    const erased = await memory.read(carol.person);
    expect(erased).toMatchObject({ summary: null, version: 2, forgottenAt: expect.any(Date) });
    expect(
      await memory.write({
        ref: carol,
        summary: 'secret again',
        expectVersion: 2,
        since: before,
        workId: WORK_B,
      }),
    ).toBe('forgotten');
    const after = new Date(erased!.forgottenAt!.getTime() + 1);
    expect(
      await memory.write({
        ref: carol,
        summary: 'new start',
        expectVersion: 2,
        since: after,
        workId: WORK_B,
      }),
    ).toBe('written');
    expect(await memory.forget(carol.person)).toEqual({ found: true, erased: true });
    expect(await memory.forget(carol.person)).toEqual({ found: true, erased: false });
  });

  it('an erase of someone never remembered: a tombstone with a ref, nothing without', async () => {
    expect(await memory.forget('telegram:main:404')).toEqual({ found: false, erased: false });
    expect(await memory.read('telegram:main:404')).toBeNull();
    const dave = ref('4');
    const since = new Date((await memory.now()).getTime() - 1_000);
    expect(await memory.forget(dave.person, dave)).toEqual({ found: true, erased: false });
    // Dave's first conversation was open during the erase: it writes nothing.
    expect(
      await memory.write({ ref: dave, summary: 'x', expectVersion: 0, since, workId: WORK_A }),
    ).toBe('forgotten');
  });

  it('lists people with a summary, newest first, by prefix and page', async () => {
    const slack: PersonRef = { person: 'slack:acme:T1:U1', channel: 'slack', source: 'acme' };
    await memory.write({
      ref: slack,
      summary: 'on billing',
      expectVersion: 0,
      since: await memory.now(),
      workId: WORK_A,
    });
    const telegram = await memory.list({ limit: 10, prefix: 'telegram:main:' });
    // Carol (3) was erased and Dave (4) never remembered: rows without a summary are not listed.
    expect(telegram.items.map((m) => m.person).sort()).toEqual([
      'telegram:main:1',
      'telegram:main:2',
    ]);
    const first = await memory.list({ limit: 2 });
    expect(first.items[0]!.person).toBe('slack:acme:T1:U1');
    expect(first.nextCursor).toEqual(expect.any(String));
    const rest = await memory.list({ limit: 10, cursor: first.nextCursor! });
    expect([...first.items, ...rest.items].map((m) => m.person)).toHaveLength(3);
    expect(rest.nextCursor).toBeNull();
    await expect(memory.list({ limit: 2, cursor: 'nope' })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});
