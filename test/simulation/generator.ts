import fc from 'fast-check';
import { type Op, type Program } from './program';

/**
 * Everything a run does, drawn from its seed before anything starts: the programs, the
 * traffic (starts, replies, operator actions, each at an offset in ms from the start)
 * and the faults. Printing the seed reproduces the schedule; only the real processes'
 * timing jitter differs between two runs of one seed.
 */

/**
 * The load's shape: `steady` starts programs spread over the window, `burst` many more
 * in a few bursts, so group-committed statements carry many rows. (Named `--mode step|
 * batched` before durability modes existed: `--mode batched` is `--load burst`.)
 */
export type Load = 'steady' | 'burst';
/** The workflow's durability mode (docs/guarantees.md, "Durability modes"). */
export type Durability = 'step' | 'batched';

export type FaultKind =
  | 'kill-worker'
  | 'kill-gateway'
  | 'stop-worker'
  | 'redis-flushall'
  | 'redis-restart'
  | 'pg-restart';

export interface Fault {
  at: number;
  kind: FaultKind;
  /** Which worker (index) for worker faults. */
  worker: number;
  /** stop-worker: how long it stays frozen (past its lease). */
  holdMs: number;
}

export type Traffic =
  /** Opens program `p` with a signed webhook; `dup` delivers the same id twice. */
  | { at: number; t: 'start'; p: number; dup: boolean }
  /** Answers wait `key`: `dup` repeats the delivery id, `extra` sends a second, distinct reply. */
  | { at: number; t: 'reply'; key: string; dup: boolean; extra: boolean }
  | { at: number; t: 'op'; p: number; action: 'pause' | 'resume' | 'cancel' | 'retry' | 'rerun' };

export interface Plan {
  seed: number;
  load: Load;
  durability: Durability;
  programs: Program[];
  traffic: Traffic[];
  faults: Fault[];
  /** When traffic and faults end (ms from the start). */
  trafficMs: number;
}

export const WORKERS = 2;

const stepMs = fc.integer({ min: 0, max: 300 });

/** One op; `n` makes names unique within the program, `nested` keeps children simple. */
function opArb(n: number, key: string, nested: boolean): fc.Arbitrary<Op> {
  const name = `s${n}`;
  const simple: Array<fc.WeightedArbitrary<Op>> = [
    {
      weight: 6,
      arbitrary: fc
        .record({ ms: stepMs, flaky: fc.boolean() })
        .map(({ ms, flaky }): Op => ({ t: 'step', name, ms, ...(flaky ? { flaky } : {}) })),
    },
    {
      weight: 4,
      arbitrary: fc.array(stepMs, { minLength: 2, maxLength: 8 }).map((ms): Op => ({
        t: 'par',
        steps: ms.map((m, i) => ({ name: `${name}p${i}`, ms: m })),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 100, max: 1_500 }).map((ms): Op => ({ t: 'sleep', ms })),
    },
  ];
  if (nested) return fc.oneof(...simple);
  return fc.oneof(
    ...simple,
    { weight: 3, arbitrary: fc.constant<Op>({ t: 'wait', key }) },
    { weight: 1, arbitrary: fc.constant<Op>({ t: 'ask', answer: `ans-${key}` }) },
    { weight: 1, arbitrary: fc.constant<Op>({ t: 'send', text: `msg ${key}` }) },
    { weight: 1, arbitrary: fc.constant<Op>({ t: 'inbox' }) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 3 })
        .chain((len) => fc.tuple(...Array.from({ length: len }, (_, i) => opArb(i, key, true))))
        .map((ops): Op => ({ t: 'child', ops })),
    },
  );
}

function programArb(id: string): fc.Arbitrary<Program> {
  return fc
    .record({
      len: fc.integer({ min: 2, max: 7 }),
      // ~1 in 10 programs has a step whose output the database refuses (defect 3's trigger).
      bad: fc
        .integer({ min: 0, max: 9 })
        .chain((d) =>
          d === 0 ? fc.constantFrom<'nul' | 'surrogate'>('nul', 'surrogate') : fc.constant(null),
        ),
    })
    .chain(({ len, bad }) =>
      fc
        .tuple(...Array.from({ length: len }, (_, i) => opArb(i, `${id}k${i}`, false)))
        .chain((ops) =>
          fc.integer({ min: 0, max: ops.length }).map((where) => {
            const all: Op[] = [...ops];
            if (bad) all.splice(where, 0, { t: 'bad', name: `bad${where}`, kind: bad });
            return { id, url: '', ops: all };
          }),
        ),
    );
}

function trafficFor(programs: Program[], load: Load, trafficMs: number): fc.Arbitrary<Traffic[]> {
  const startWindow = Math.floor(trafficMs * 0.6);
  // A burst load starts programs in bursts, so many runs share each group-committed statement.
  const startAt =
    load === 'burst'
      ? fc.integer({ min: 0, max: 3 }).map((b) => Math.floor((b * startWindow) / 3))
      : fc.integer({ min: 0, max: startWindow });
  const perProgram = programs.map((program, p) => {
    const waits = program.ops.flatMap((op) => (op.t === 'wait' ? [op.key] : []));
    return fc
      .record({
        at: startAt,
        dup: fc.boolean(),
        // An early reply lands before the start (out of order): it must wait in the inbox.
        replies: fc.tuple(
          ...waits.map((key) =>
            fc.record({
              key: fc.constant(key),
              offset: fc.integer({ min: -1_000, max: 6_000 }),
              dup: fc.boolean(),
              extra: fc.boolean(),
            }),
          ),
        ),
        // About one program in three gets an operator action.
        op: fc.constantFrom<'pause' | 'cancel' | 'cancel-retry' | 'rerun' | null>(
          'pause',
          'pause',
          'cancel',
          'cancel-retry',
          'rerun',
          ...Array<null>(10).fill(null),
        ),
        opAfter: fc.integer({ min: 100, max: 4_000 }),
      })
      .map(({ at, dup, replies, op, opAfter }): Traffic[] => {
        const out: Traffic[] = [{ at, t: 'start', p, dup }];
        for (const r of replies)
          out.push({
            at: Math.max(0, at + r.offset),
            t: 'reply',
            key: r.key,
            dup: r.dup,
            extra: r.extra,
          });
        const t0 = at + opAfter;
        if (op === 'pause') {
          out.push({ at: t0, t: 'op', p, action: 'pause' });
          out.push({ at: t0 + 1_500, t: 'op', p, action: 'resume' });
        } else if (op === 'cancel') out.push({ at: t0, t: 'op', p, action: 'cancel' });
        else if (op === 'cancel-retry') {
          out.push({ at: t0, t: 'op', p, action: 'cancel' });
          out.push({ at: t0 + 1_000, t: 'op', p, action: 'retry' });
        } else if (op === 'rerun') out.push({ at: t0 + 4_000, t: 'op', p, action: 'rerun' });
        return out;
      });
  });
  return fc.tuple(...perProgram).map((lists) => lists.flat().sort((a, b) => a.at - b.at));
}

const faultArb = (trafficMs: number): fc.Arbitrary<Fault> =>
  fc.record({
    at: fc.integer({ min: 1_000, max: trafficMs - 1_000 }),
    kind: fc.oneof(
      { weight: 4, arbitrary: fc.constant<FaultKind>('kill-worker') },
      { weight: 3, arbitrary: fc.constant<FaultKind>('stop-worker') },
      { weight: 3, arbitrary: fc.constant<FaultKind>('pg-restart') },
      { weight: 1, arbitrary: fc.constant<FaultKind>('redis-flushall') },
      { weight: 1, arbitrary: fc.constant<FaultKind>('redis-restart') },
      { weight: 1, arbitrary: fc.constant<FaultKind>('kill-gateway') },
    ),
    worker: fc.integer({ min: 0, max: WORKERS - 1 }),
    // Past the 2 s lease and the sweeper's grace, so a stalled recovery is visible.
    holdMs: fc.integer({ min: 6_000, max: 10_000 }),
  });

/**
 * The whole plan of one run, a pure function of (seed, load): the durability does not
 * change what is drawn, so one seed plays the same schedule in every mode.
 */
export function generatePlan(
  seed: number,
  load: Load,
  durability: Durability,
  runLabel: string,
): Plan {
  const count = load === 'burst' ? { min: 24, max: 40 } : { min: 8, max: 16 };
  const arb = fc
    .record({
      trafficMs: fc.integer({ min: 12_000, max: 18_000 }),
      n: fc.integer(count),
    })
    .chain(({ trafficMs, n }) =>
      fc
        .tuple(...Array.from({ length: n }, (_, i) => programArb(`${runLabel}p${i}`)))
        .chain((programs) =>
          fc.record({
            trafficMs: fc.constant(trafficMs),
            programs: fc.constant(programs),
            traffic: trafficFor(programs, load, trafficMs),
            faults: fc
              .array(faultArb(trafficMs), { minLength: 1, maxLength: 4 })
              .map((fs) => fs.sort((a, b) => a.at - b.at)),
          }),
        ),
    );
  const [drawn] = fc.sample(arb, { seed, numRuns: 1 });
  if (!drawn) throw new Error(`seed ${seed} drew no plan`);
  return { seed, load, durability, ...drawn };
}
