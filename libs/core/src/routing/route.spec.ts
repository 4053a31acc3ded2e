import fc from 'fast-check';
import { type WorkState, WORK_STATES } from '../work/work-state';
import {
  BUSY_POLICIES,
  route,
  type RouteCandidates,
  type RouteEvent,
  type RoutePolicy,
  type WaitCandidate,
  type WorkCandidate,
} from './route';

fc.configureGlobal({ seed: 0x0de_7e11, numRuns: 2_000 });

const POLICY: RoutePolicy = { openKind: 'triage', busyPolicy: 'inbox', collectWindowMs: 2_000 };
const NO_OPEN: RoutePolicy = { ...POLICY, openKind: null };

const event = (patch: Partial<RouteEvent> = {}): RouteEvent => ({
  conversationKey: 'tg:42',
  correlationKey: null,
  reference: null,
  command: null,
  ...patch,
});
const wait = (
  waitId: string,
  workId: string,
  patch: Partial<WaitCandidate> = {},
): WaitCandidate => ({
  waitId,
  workId,
  status: 'open',
  accepts: true,
  createdAt: 100,
  ...patch,
});
const work = (
  workId: string,
  state: WorkState,
  waits: WaitCandidate[] = [],
  createdAt = 0,
): WorkCandidate => ({
  workId,
  state,
  createdAt,
  waits,
});
const candidates = (patch: Partial<RouteCandidates> = {}): RouteCandidates => ({
  referenced: null,
  correlated: [],
  conversation: [],
  ...patch,
});

describe(route.name, () => {
  describe('1. explicit reference', () => {
    const ref = (waitId?: string) => event({ reference: { workId: 'w1', waitId } });

    it('resumes the referenced wait when it is open and accepts the answer', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1')]);
      expect(route(ref('a'), candidates({ referenced: w1 }), POLICY)).toMatchObject({
        decision: 'resume',
        workId: 'w1',
        waitId: 'a',
      });
    });

    it('rejects (re-prompts) without consuming an open wait the answer does not match', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1', { accepts: false })]);
      expect(route(ref('a'), candidates({ referenced: w1 }), POLICY)).toMatchObject({
        decision: 'reject',
        workId: 'w1',
        waitId: 'a',
      });
    });

    it.each(['satisfied', 'timed_out', 'cancelled'] as const)(
      'drops a second press on a wait that is already %s',
      (status) => {
        const w1 = work('w1', 'QUEUED', [wait('a', 'w1', { status })]);
        expect(route(ref('a'), candidates({ referenced: w1 }), POLICY)).toMatchObject({
          decision: 'drop',
        });
      },
    );

    it('drops a reference to a wait the work does not know', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1')]);
      expect(route(ref('zzz'), candidates({ referenced: w1 }), POLICY)).toMatchObject({
        decision: 'drop',
      });
    });

    it('resumes the open wait a reference without a wait id satisfies', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1', { accepts: false }), wait('b', 'w1')]);
      expect(route(ref(), candidates({ referenced: w1 }), POLICY)).toMatchObject({
        decision: 'resume',
        workId: 'w1',
        waitId: 'b',
      });
    });

    it.each(['QUEUED', 'RUNNING', 'PAUSED'] as const)(
      'puts the event in the inbox of a %s work that is not waiting for it',
      (state) => {
        const w1 = work('w1', state);
        expect(
          route(ref(), candidates({ referenced: w1 }), { ...POLICY, busyPolicy: 'reject' }),
        ).toEqual({
          decision: 'inbox',
          workId: 'w1',
          reason: expect.any(String),
        });
      },
    );

    it('puts the event in the inbox of a waiting work whose wait does not accept it', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1', { accepts: false })]);
      expect(route(ref(), candidates({ referenced: w1 }), POLICY)).toMatchObject({
        decision: 'inbox',
        workId: 'w1',
      });
    });

    it.each(['COMPLETED', 'FAILED', 'CANCELLED'] as const)(
      'opens a new work when the referenced one is %s',
      (state) => {
        const w1 = work('w1', state, [wait('a', 'w1', { status: 'satisfied' })]);
        expect(route(ref('a'), candidates({ referenced: w1 }), POLICY)).toMatchObject({
          decision: 'open',
          kind: 'triage',
        });
        expect(route(ref('a'), candidates({ referenced: w1 }), NO_OPEN)).toMatchObject({
          decision: 'drop',
        });
      },
    );

    it('opens a new work when the referenced one is unknown', () => {
      expect(route(ref('a'), candidates(), POLICY)).toMatchObject({
        decision: 'open',
        kind: 'triage',
      });
    });

    it('wins over the conversation', () => {
      const w1 = work('w1', 'RUNNING');
      const other = work('w2', 'WAITING', [wait('b', 'w2')]);
      expect(
        route(ref(), candidates({ referenced: w1, conversation: [other, w1] }), POLICY),
      ).toMatchObject({
        decision: 'inbox',
        workId: 'w1',
      });
    });
  });

  describe('1b. correlation key', () => {
    const correlated = event({ conversationKey: null, correlationKey: 'order-7' });

    it.each([
      ['timed_out', /timed out/],
      ['cancelled', /was cancelled/],
    ] as const)(
      'says a late answer is late (the last wait on the key %s) and drops it instead of keeping it',
      (status, said) => {
        const lapsed = { waitId: 'a', workId: 'w1', status, workState: 'FAILED' as const };
        const late = route(correlated, candidates({ lapsed }), NO_OPEN);
        expect(late).toMatchObject({ decision: 'drop' });
        expect(late.reason).toMatch(said);
        expect(late.reason).toContain('w1');
        expect(route(correlated, candidates({ lapsed }), POLICY)).toMatchObject({
          decision: 'open',
        });
      },
    );

    it('keeps an early answer (no wait on the key yet, or the last one was answered)', () => {
      const answered = {
        waitId: 'a',
        workId: 'w1',
        status: 'satisfied' as const,
        workState: 'COMPLETED' as const,
      };
      for (const lapsed of [null, answered])
        expect(route(correlated, candidates({ lapsed }), NO_OPEN)).toMatchObject({
          decision: 'inbox',
          workId: null,
        });
    });

    it('resumes the work waiting on the key', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1')]);
      expect(route(correlated, candidates({ correlated: [w1] }), POLICY)).toMatchObject({
        decision: 'resume',
        workId: 'w1',
        waitId: 'a',
      });
    });

    it.each(BUSY_POLICIES)(
      'puts the event in the inbox of a busy work whatever the busy policy (%s)',
      (busyPolicy) => {
        const w1 = work('w1', 'RUNNING', [wait('a', 'w1', { status: 'satisfied' })]);
        expect(
          route(correlated, candidates({ correlated: [w1] }), { ...POLICY, busyPolicy }),
        ).toMatchObject({
          decision: 'inbox',
          workId: 'w1',
        });
      },
    );

    it('answers the oldest wait when several works wait on the key', () => {
      const older = work('w1', 'WAITING', [wait('a', 'w1', { createdAt: 200 })], 10);
      const newer = work('w2', 'WAITING', [wait('b', 'w2', { createdAt: 300 })], 20);
      expect(route(correlated, candidates({ correlated: [newer, older] }), POLICY)).toMatchObject({
        decision: 'resume',
        waitId: 'a',
      });
    });

    it('orders by the wait, not by the work, when they disagree', () => {
      // w1 is the older work but opened its wait later: the queue is of waits.
      const olderWork = work('w1', 'WAITING', [wait('a', 'w1', { createdAt: 500 })], 10);
      const olderWait = work('w2', 'WAITING', [wait('b', 'w2', { createdAt: 300 })], 20);
      expect(
        route(correlated, candidates({ correlated: [olderWork, olderWait] }), POLICY),
      ).toMatchObject({
        decision: 'resume',
        workId: 'w2',
        waitId: 'b',
      });
    });

    it('prefers a waiting work over an older busy one', () => {
      const busy = work('w1', 'RUNNING', [], 10);
      const waiting = work('w2', 'WAITING', [wait('b', 'w2')], 20);
      expect(route(correlated, candidates({ correlated: [busy, waiting] }), POLICY)).toMatchObject({
        decision: 'resume',
        workId: 'w2',
      });
    });

    it('uses the inbox of the oldest live work when none is waiting', () => {
      const newer = work('w2', 'QUEUED', [], 20);
      const older = work('w1', 'RUNNING', [], 10);
      expect(route(correlated, candidates({ correlated: [newer, older] }), POLICY)).toMatchObject({
        decision: 'inbox',
        workId: 'w1',
      });
    });

    it('ignores finished works on the key and falls through to the conversation rules', () => {
      const done = work('w1', 'COMPLETED', [wait('a', 'w1', { status: 'satisfied' })]);
      expect(route(correlated, candidates({ correlated: [done] }), POLICY)).toMatchObject({
        decision: 'open',
        kind: 'triage',
      });
    });

    it('keeps the event (inbox, no work yet) when nothing waits on the key and the route opens no workflow', () => {
      expect(route(correlated, candidates(), NO_OPEN)).toEqual({
        decision: 'inbox',
        workId: null,
        reason: expect.any(String),
      });
    });

    it('opens a new work when nothing waits on the key and the route opens one', () => {
      expect(route(correlated, candidates(), POLICY)).toMatchObject({
        decision: 'open',
        kind: 'triage',
      });
    });
  });

  describe('2. open waits on the conversation', () => {
    it('resumes the one open wait the event satisfies, even next to a busy work', () => {
      const waiting = work('w1', 'WAITING', [wait('a', 'w1')]);
      const busy = work('w2', 'RUNNING');
      expect(route(event(), candidates({ conversation: [busy, waiting] }), POLICY)).toMatchObject({
        decision: 'resume',
        workId: 'w1',
        waitId: 'a',
      });
    });

    it('asks which when several open waits could take the event', () => {
      const w1 = work('w1', 'WAITING', [wait('a', 'w1')]);
      const w2 = work('w2', 'WAITING', [wait('b', 'w2')]);
      const outcome = route(event(), candidates({ conversation: [w1, w2] }), POLICY);
      expect(outcome).toMatchObject({ decision: 'ask-which' });
      expect(outcome.decision === 'ask-which' && [...outcome.workIds].sort()).toEqual(['w1', 'w2']);
    });

    it('ignores waits that are closed or belong to finished works', () => {
      const done = work('w1', 'CANCELLED', [wait('a', 'w1')]);
      const answered = work('w2', 'QUEUED', [wait('b', 'w2', { status: 'satisfied' })]);
      const waiting = work('w3', 'WAITING', [wait('c', 'w3')]);
      expect(
        route(event(), candidates({ conversation: [done, answered, waiting] }), POLICY),
      ).toMatchObject({
        decision: 'resume',
        workId: 'w3',
        waitId: 'c',
      });
    });
  });

  describe('3. one live work on the conversation', () => {
    it.each([
      ['QUEUED', 'inbox', { decision: 'inbox', workId: 'w1' }],
      ['QUEUED', 'collect', { decision: 'collect', workId: 'w1', windowMs: 2_000 }],
      ['QUEUED', 'interrupt', { decision: 'interrupt', workId: 'w1' }],
      ['QUEUED', 'reject', { decision: 'reject', workId: 'w1' }],
      ['RUNNING', 'inbox', { decision: 'inbox', workId: 'w1' }],
      ['RUNNING', 'collect', { decision: 'collect', workId: 'w1', windowMs: 2_000 }],
      ['RUNNING', 'interrupt', { decision: 'interrupt', workId: 'w1' }],
      ['RUNNING', 'reject', { decision: 'reject', workId: 'w1' }],
    ] as const)('a %s work under the %s busy policy → %o', (state, busyPolicy, expected) => {
      expect(
        route(event(), candidates({ conversation: [work('w1', state)] }), {
          ...POLICY,
          busyPolicy,
        }),
      ).toMatchObject(expected);
    });

    it.each(BUSY_POLICIES)(
      'rejects (re-prompts) for a WAITING work whose wait does not accept, under %s',
      (busyPolicy) => {
        const w1 = work('w1', 'WAITING', [wait('a', 'w1', { accepts: false })]);
        expect(
          route(event(), candidates({ conversation: [w1] }), { ...POLICY, busyPolicy }),
        ).toMatchObject({
          decision: 'reject',
          workId: 'w1',
          waitId: 'a',
        });
      },
    );
  });

  describe('4. several live works, nothing explicit', () => {
    const two = candidates({
      conversation: [work('w2', 'RUNNING', [], 20), work('w1', 'QUEUED', [], 10)],
    });

    it.each(['inbox', 'collect', 'interrupt'] as const)(
      'asks which, oldest first, under %s',
      (busyPolicy) => {
        expect(route(event(), two, { ...POLICY, busyPolicy })).toMatchObject({
          decision: 'ask-which',
          workIds: ['w1', 'w2'],
        });
      },
    );

    it('rejects under the reject policy, naming no work', () => {
      expect(route(event(), two, { ...POLICY, busyPolicy: 'reject' })).toMatchObject({
        decision: 'reject',
        workId: null,
      });
    });
  });

  describe('5. nothing to resume', () => {
    it('opens a new work of the configured kind', () => {
      expect(route(event(), candidates(), POLICY)).toMatchObject({
        decision: 'open',
        kind: 'triage',
      });
    });

    it('opens a new work when every work on the conversation has finished', () => {
      const done = work('w1', 'FAILED', [wait('a', 'w1', { status: 'cancelled' })]);
      expect(route(event(), candidates({ conversation: [done] }), POLICY)).toMatchObject({
        decision: 'open',
      });
    });

    it('drops the event when the route opens no workflow', () => {
      expect(route(event(), candidates(), NO_OPEN)).toMatchObject({ decision: 'drop' });
    });
  });

  describe('/new', () => {
    const everything = candidates({
      referenced: work('w1', 'WAITING', [wait('a', 'w1')]),
      correlated: [work('w1', 'WAITING', [wait('a', 'w1')])],
      conversation: [work('w1', 'WAITING', [wait('a', 'w1')])],
    });

    it('forces a new work even when an open wait would take the event', () => {
      const outcome = route(
        event({ command: 'new', reference: { workId: 'w1', waitId: 'a' }, correlationKey: 'k' }),
        everything,
        POLICY,
      );
      expect(outcome).toMatchObject({ decision: 'open', kind: 'triage' });
    });

    it('drops when the route opens no workflow', () => {
      expect(route(event({ command: 'new' }), everything, NO_OPEN)).toMatchObject({
        decision: 'drop',
      });
    });
  });

  describe('properties', () => {
    const WORK_IDS = ['w1', 'w2', 'w3', 'w4'];
    const WAIT_IDS = ['a', 'b', 'c', 'd', 'e'];

    const arbWork = fc
      .record({
        workId: fc.constantFrom(...WORK_IDS),
        state: fc.constantFrom(...WORK_STATES),
        createdAt: fc.nat(1_000),
        waits: fc.array(
          fc.record({
            waitId: fc.constantFrom(...WAIT_IDS),
            status: fc.constantFrom(
              'open' as const,
              'satisfied' as const,
              'timed_out' as const,
              'cancelled' as const,
            ),
            accepts: fc.boolean(),
            createdAt: fc.nat(1_000),
          }),
          { maxLength: 3 },
        ),
      })
      .map((w): WorkCandidate => ({
        ...w,
        waits: w.waits.map((x) => ({ ...x, workId: w.workId })),
      }));

    const arbCandidates = fc.record({
      referenced: fc.option(arbWork, { nil: null }),
      correlated: fc.array(arbWork, { maxLength: 3 }),
      conversation: fc.array(arbWork, { maxLength: 4 }),
    });
    const arbEvent = fc.record({
      conversationKey: fc.option(fc.constant('tg:42'), { nil: null }),
      correlationKey: fc.option(fc.constant('order-7'), { nil: null }),
      reference: fc.option(
        fc.record({
          workId: fc.constantFrom(...WORK_IDS),
          waitId: fc.option(fc.constantFrom(...WAIT_IDS, 'unknown'), { nil: undefined }),
        }),
        { nil: null },
      ),
      command: fc.constantFrom(null, null, null, 'new' as const),
    });
    const arbPolicy = fc.record({
      openKind: fc.option(fc.constant('triage'), { nil: null }),
      busyPolicy: fc.constantFrom(...BUSY_POLICIES),
      collectWindowMs: fc.nat(10_000),
    });

    const all = (c: RouteCandidates) => [
      ...(c.referenced ? [c.referenced] : []),
      ...c.correlated,
      ...c.conversation,
    ];

    it('is total, and resumes only an open wait that accepts, on a live candidate', () => {
      fc.assert(
        fc.property(arbEvent, arbCandidates, arbPolicy, (e, c, p) => {
          const outcome = route(e, c, p);
          switch (outcome.decision) {
            case 'resume': {
              const owners = all(c).filter(
                (w) =>
                  w.workId === outcome.workId &&
                  w.state !== 'COMPLETED' &&
                  w.state !== 'FAILED' &&
                  w.state !== 'CANCELLED',
              );
              const waits = owners
                .flatMap((w) => w.waits)
                .filter((x) => x.waitId === outcome.waitId);
              expect(waits.some((x) => x.status === 'open' && x.accepts)).toBe(true);
              break;
            }
            case 'open':
              expect(outcome.kind).toBe(p.openKind);
              break;
            case 'inbox':
            case 'collect':
            case 'interrupt':
            case 'reject':
            case 'ask-which':
            case 'drop':
              break;
          }
        }),
      );
    });

    it('names only candidate works, and opens only when the route has a kind', () => {
      fc.assert(
        fc.property(arbEvent, arbCandidates, arbPolicy, (e, c, p) => {
          const outcome = route(e, c, p);
          const known = new Set(all(c).map((w) => w.workId));
          const named =
            'workIds' in outcome
              ? outcome.workIds
              : 'workId' in outcome && outcome.workId !== null
                ? [outcome.workId]
                : [];
          for (const id of named) expect(known.has(id)).toBe(true);
          if (p.openKind === null) expect(outcome.decision).not.toBe('open');
          if (e.command === 'new') expect(outcome.decision).toBe(p.openKind ? 'open' : 'drop');
          expect(outcome.reason.length).toBeGreaterThan(0);
        }),
      );
    });
  });
});
