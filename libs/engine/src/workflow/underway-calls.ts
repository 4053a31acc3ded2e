import { NonRetryableError } from './workflow.errors';

/**
 * The ctx calls under way that record without suspending (steps, model calls,
 * messages, recorded values): a wait waits for them before it suspends the run, and
 * the run's end waits for them (drain), so a step run side by side with a wait, or
 * left behind by a Promise.all that rejected, is still recorded.
 */
export class UnderwayCalls {
  private readonly calls = new Set<Promise<unknown>>();
  /** Set once the workflow function has settled: no ctx call may start after it. */
  ended = false;

  /** `call` counted as under way until it settles. */
  add<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const done = () => this.calls.delete(call);
    call.then(done, done);
    return call;
  }

  /**
   * Before a wait suspends the run: the calls under way side by side with it (the
   * other members of a Promise.all, all started in this same turn) finish and are
   * recorded first — their checkpoints are written before the wait
   * (CheckpointSystem.settle) — rather than being cut off by the suspension and run
   * again on the next run.
   */
  async quiesce(name: string): Promise<void> {
    await Promise.resolve(); // the rest of a Promise.all's members are called by now
    while (this.calls.size) await Promise.allSettled([...this.calls]);
    if (this.ended)
      throw new NonRetryableError(
        `"${name}" was not opened: the workflow function had already ended`,
        'ctx_after_end',
      );
  }

  /**
   * Called once the workflow function has settled, before the run is finished: waits
   * (at most `limitMs`) for the calls still under way — steps a rejected Promise.all
   * left behind, or a step not awaited — so their results are recorded rather than
   * left `running`. None may start after this.
   */
  async drain(limitMs: number): Promise<void> {
    this.ended = true;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
    try {
      while (this.calls.size)
        await Promise.race([Promise.allSettled([...this.calls]), limit.then(() => 'late')]).then(
          (r) => {
            if (r === 'late') this.calls.clear();
          },
        );
    } finally {
      clearTimeout(timer);
    }
  }
}
