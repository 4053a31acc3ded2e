import fc from 'fast-check';
import { defineWorkflow, type DurabilityMode, type WorkflowContext } from '@app/engine';
import { type EngineHarness, startEngine } from '@test/engine-ledger';
import { DIFF_SEED } from '@test/work-differential';

/**
 * `batched` is a fast path for `step` (STYLE.md, "A fast path is a claim to prove"): the
 * same generated program, run once with every step in `step` durability and once as a
 * `batched` workflow (some of its steps overridden back to `step`), must leave the same
 * ledger — the work's end state, every step's row but its id, key and times, and the
 * timeline. The ids differ by design (random against derived); the keys keep one shape.
 */
type Op =
  | { t: 'step'; v: number; d?: DurabilityMode }
  | { t: 'side'; vs: number[]; d?: DurabilityMode }
  | { t: 'flaky'; d?: DurabilityMode }
  | { t: 'sleep' };

const failedOnce = new Set<string>();

async function interpret(
  ctx: WorkflowContext<{ ops: Op[]; reference: boolean }>,
  input: { ops: Op[]; reference: boolean },
): Promise<number[]> {
  const out: number[] = [];
  // The reference run ignores the overrides: every step of it is a `step` step.
  const opts = (d?: DurabilityMode) => ({ durability: input.reference ? 'step' : d });
  for (const [i, op] of input.ops.entries()) {
    if (op.t === 'step') out.push(await ctx.step(`s${i}`, () => op.v, opts(op.d)));
    else if (op.t === 'side')
      out.push(
        ...(await Promise.all(op.vs.map((v, j) => ctx.step(`p${i}.${j}`, () => v, opts(op.d))))),
      );
    else if (op.t === 'flaky')
      out.push(
        await ctx.step(
          `f${i}`,
          () => {
            const key = `${ctx.workId}:${i}`;
            if (!failedOnce.has(key)) {
              failedOnce.add(key);
              throw new Error('fails once');
            }
            return i;
          },
          { ...opts(op.d), retry: { maxAttempts: 2, initialIntervalMs: 1 } },
        ),
      );
    // Long enough to suspend the run in both modes: a sleep already due when its wait is
    // written (a batch's commit comes first) is recorded without waiting — a difference
    // of timing, not of durability.
    else await ctx.sleep('1s');
  }
  return out;
}

const flows = [
  defineWorkflow('diffdur.step', interpret, { durability: 'step' }),
  defineWorkflow('diffdur.batched', interpret, { durability: 'batched' }),
];

const arbMode = fc.option(fc.constantFrom<DurabilityMode>('step', 'batched'), { nil: undefined });
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('step' as const), v: fc.integer(), d: arbMode }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('side' as const),
      vs: fc.array(fc.integer(), { minLength: 2, maxLength: 3 }),
      d: arbMode,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('flaky' as const), d: arbMode }) },
  { weight: 1, arbitrary: fc.constant({ t: 'sleep' as const }) },
);

describe('batched durability against step durability', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('diffdur', flows);
  });
  afterAll(async () => h?.close());

  /** Rows with a derived id (batchedStepId: UUID version 8), per run: the property reached the path. */
  const derived = { reference: 0, batched: 0 };

  /** What the run left in the ledger, without what differs by design (ids, keys, times). */
  async function endState(workId: string, run: keyof typeof derived) {
    const work = await h.ledger.untilState(workId, ['COMPLETED', 'FAILED'], 30_000);
    const steps = await h.ledger.steps(workId);
    for (const s of steps) expect(s.idempotencyKey).toBe(`${workId}:${s.seq}:${s.id}`);
    derived[run] += steps.filter((s) => s.id[14] === '8').length;
    return {
      work: {
        state: work.state,
        output: work.output,
        error: work.error,
        attempt: work.attempt,
        checkpointSeq: work.checkpointSeq,
        leaseOwner: work.leaseOwner,
      },
      steps: steps.map((s) => ({
        seq: s.seq,
        name: s.name,
        type: s.type,
        status: s.status,
        output: s.output,
        error: s.error,
        attempt: s.attempt,
      })),
      timeline: await h.ledger.types(workId),
    };
  }

  it('leaves the same ledger for the same program', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 6 }), async (ops) => {
        const control = h.worker.control;
        const [reference, batched] = await Promise.all([
          control.start('diffdur.step', { ops, reference: true }, { actor: 'test' }),
          control.start('diffdur.batched', { ops, reference: false }, { actor: 'test' }),
        ]);
        const [expected, actual] = await Promise.all([
          endState(reference.workId!, 'reference'),
          endState(batched.workId!, 'batched'),
        ]);
        expect(actual).toEqual(expected);
        expect(actual.work.state).toBe('COMPLETED');
      }),
      { numRuns: 25, seed: DIFF_SEED },
    );
    expect(derived.reference).toBe(0);
    expect(derived.batched).toBeGreaterThan(25);
  });
});
