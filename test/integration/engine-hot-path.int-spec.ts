import { defineWorkflow } from '@app/engine';
import { type EngineHarness, type Gate, gate, startEngine } from '@test/engine-ledger';
import { until } from '@test/until';

/**
 * The run's hot path (docs/decisions.md, "The step hot path"): a QUEUED work is claimed
 * without a lock, each step is on the record as running before it runs and checkpointed
 * in a statement shared with the runs checkpointing at the same time, and the completion
 * is decided on the row the run last wrote — each falling back to the locked path when
 * the row moved on.
 */
const slow = gate<string>();
const slowStarted = gate();
let quickFailures = 0;
/** Set by the test: runs between the workflow's last step and its return. */
let betweenLastStepAndReturn: Gate<(workId: string) => Promise<void>> = gate();

const flows = [
  defineWorkflow('hot.quick', async (ctx) => {
    const a = await ctx.step('one', () => 1);
    const b = await ctx.step('two', () => a + 1);
    return ctx.step('three', () => b + 1);
  }),
  defineWorkflow('hot.slow', async (ctx) =>
    ctx.step('slow', async () => {
      slowStarted.open();
      return slow.promise;
    }),
  ),
  defineWorkflow('hot.moved-on', async (ctx) => {
    const value = await ctx.step('only', () => 'done');
    await (
      await betweenLastStepAndReturn.promise
    )(ctx.workId);
    return value;
  }),
  defineWorkflow('hot.flaky', async (ctx) =>
    ctx.step(
      'flaky',
      () => {
        if (quickFailures++ === 0) throw new Error('first attempt fails');
        return 'ok';
      },
      { retry: { maxAttempts: 2, initialIntervalMs: 10 } },
    ),
  ),
];

describe('the run hot path', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngine('hot', flows);
  });
  afterAll(async () => h?.close());

  it('claims, records and checkpoints each step, and completes with one timeline entry each', async () => {
    const { workId } = await h.worker.control.start('hot.quick', {}, { actor: 'test' });
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe(3);
    expect(done.checkpointSeq).toBe(3);
    expect(done.leaseOwner).toBeNull();
    const steps = await h.ledger.steps(workId!);
    expect(steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['one', 'completed', 1],
      ['two', 'completed', 1],
      ['three', 'completed', 1],
    ]);
    expect(steps.map((s) => s.idempotencyKey)).toEqual(
      steps.map((s) => `${workId}:${s.seq}:${s.id}`),
    );
    expect(await h.ledger.types(workId!)).toEqual(['created', 'claimed', 'completed']);
    const claimed = (await h.ledger.timeline(workId!))[1]!;
    expect(claimed.data).toMatchObject({ from: 'QUEUED', to: 'RUNNING' });
  });

  it('shows a step as running while it runs, and completes the same row', async () => {
    const { workId } = await h.worker.control.start('hot.slow', {}, { actor: 'test' });
    await slowStarted.promise;
    const running = await until(
      async () => (await h.ledger.steps(workId!)).find((s) => s.status === 'running'),
      'the slow step to be recorded as running',
    );
    expect(running.name).toBe('slow');
    slow.open('late');
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe('late');
    const [step] = await h.ledger.steps(workId!);
    expect(step).toMatchObject({ id: running.id, status: 'completed', attempt: 1 });
  });

  it('records a step that fails, then its inline retry, on the same row', async () => {
    const { workId } = await h.worker.control.start('hot.flaky', {}, { actor: 'test' });
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe('ok');
    const steps = await h.ledger.steps(workId!);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ name: 'flaky', status: 'completed', attempt: 2 });
  });

  it('completes through the locked path when the row moved on after the last checkpoint', async () => {
    betweenLastStepAndReturn = gate();
    const { workId } = await h.worker.control.start('hot.moved-on', {}, { actor: 'test' });
    let bumpedTo = 0;
    // A write the run does not know of moves the version on: the completion must
    // notice and decide again under the row lock, not write over it.
    betweenLastStepAndReturn.open(async (id) => {
      // After the step's checkpoint, which goes out with the run's next write or at the
      // end of the event loop's turn (CheckpointSystem.completeStep).
      await until(
        async () => (await h.ledger.steps(id))[0]?.status === 'completed',
        'the step to be checkpointed',
      );
      const [row] = await h.db.query<{ version: number }>(
        `UPDATE "Work" SET version = version + 1 WHERE id = $1 RETURNING version`,
        [id],
      );
      bumpedTo = row!.version;
    });
    const done = await h.ledger.untilState(workId!, 'COMPLETED');
    expect(done.output).toBe('done');
    expect(bumpedTo).toBeGreaterThan(0);
    expect(done.version).toBe(bumpedTo + 1);
    expect(await h.ledger.types(workId!)).toEqual(['created', 'claimed', 'completed']);
  });
});
