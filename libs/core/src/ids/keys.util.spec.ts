import fc from 'fast-check';
import {
  jobIds,
  scheduleFireId,
  scopedExternalId,
  stepIdempotencyKey,
  waitMessageKey,
} from './keys.util';
import { uuidv7 } from './uuidv7.util';

fc.configureGlobal({ seed: 0x6e75, numRuns: 500 });

const arbId = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.uint8Array({ minLength: 10, maxLength: 10 }))
  .map(([ms, r]) => uuidv7(ms, r));
const JOB_KINDS = Object.keys(jobIds) as (keyof typeof jobIds)[];

describe('jobIds', () => {
  it.each(JOB_KINDS)(
    '%s ids have exactly three ":"-separated parts (BullMQ 6 rejects any other custom id with ":")',
    (kind) => {
      fc.assert(
        fc.property(arbId, fc.nat(), (id, n) => {
          const parts = jobIds[kind](id, n).split(':');
          expect(parts).toHaveLength(3);
          expect(parts.every((p) => p.length > 0)).toBe(true);
        }),
      );
    },
  );

  it('gives each kind its own prefix, so a work job never collides with a wake job', () => {
    const prefixes = JOB_KINDS.map((kind) => jobIds[kind]('x', 1).split(':')[0]);
    expect(new Set(prefixes).size).toBe(JOB_KINDS.length);
  });

  it('is a pure function of its inputs, so a duplicate enqueue collapses', () => {
    fc.assert(
      fc.property(arbId, fc.nat(), (id, n) => {
        for (const kind of JOB_KINDS) expect(jobIds[kind](id, n)).toBe(jobIds[kind](id, n));
        expect(jobIds.work(id, n)).not.toBe(jobIds.work(id, n + 1));
      }),
    );
  });

  it('spells the ids the queues table names', () => {
    expect(jobIds.work('w', 3)).toBe('work:w:3');
    expect(jobIds.wait('x', 0)).toBe('wait:x:0');
    expect(jobIds.retry('w', 2)).toBe('retry:w:2');
    expect(jobIds.outbox('o', 1)).toBe('out:o:1');
    expect(jobIds.schedule('s', 1_700_000_000_000)).toBe('sched:s:1700000000000');
  });
});

describe(stepIdempotencyKey.name, () => {
  it('is stable for one step row and distinct per step, work and row', () => {
    expect(stepIdempotencyKey('w', 4, 's1')).toBe(stepIdempotencyKey('w', 4, 's1'));
    expect(stepIdempotencyKey('w', 4, 's1')).not.toBe(stepIdempotencyKey('w', 5, 's1'));
    expect(stepIdempotencyKey('w1', 4, 's1')).not.toBe(stepIdempotencyKey('w2', 4, 's1'));
    // A rerun runs the step as a new row: a new key, so its side effects happen again.
    expect(stepIdempotencyKey('w', 4, 's1')).not.toBe(stepIdempotencyKey('w', 4, 's2'));
  });
});

describe(waitMessageKey.name, () => {
  it('is per wait and per message', () => {
    expect(waitMessageKey('w', 4, 'a', 'prompt')).not.toBe(waitMessageKey('w', 4, 'b', 'prompt'));
    expect(waitMessageKey('w', 4, 'a', 'prompt')).not.toBe(waitMessageKey('w', 4, 'a', 'rung1'));
  });
});

describe(scopedExternalId.name, () => {
  it('keeps the same provider id apart across sources', () => {
    expect(scopedExternalId('bot-a', '17')).not.toBe(scopedExternalId('bot-b', '17'));
    expect(scopedExternalId('bot-a', '17')).toBe('bot-a:17');
  });
});

describe(scheduleFireId.name, () => {
  it('names one firing per schedule and time', () => {
    expect(scheduleFireId('s1', Date.UTC(2025, 0, 1))).toBe('s1@2025-01-01T00:00:00.000Z');
    expect(scheduleFireId('s1', 1)).not.toBe(scheduleFireId('s1', 2));
  });
});
