import { stringProblem } from '@app/core';
import { type StepRow, type StepType } from '@app/ledger';
import { DeterminismError, NonRetryableError } from './workflow.errors';

/**
 * A run's position in its record: each ctx call takes the next sequence number and
 * gets what the record holds there. A record with a different name or kind at that
 * position is a determinism error, never silent drift.
 */
export class ReplayCursor {
  private seq = 0;
  /**
   * The first determinism violation of this run. Sticky: workflow code may catch the
   * error (a "best effort" try/catch around a step), but every later ctx call throws it
   * again and the runner fails the work with it, so drift is never silently absorbed.
   */
  private firstViolation: DeterminismError | undefined;
  private current: { step: string; seq: number } | undefined;

  constructor(private readonly record: Map<number, StepRow>) {}

  /** The violation this run hit, if any. */
  get violation(): DeterminismError | undefined {
    return this.firstViolation;
  }

  /** The ctx call the run reached last (`{ step, seq }`). */
  get currentStep(): { step: string; seq: number } | undefined {
    return this.current;
  }

  throwIfViolated(): void {
    if (this.firstViolation) throw this.firstViolation;
  }

  /** The next position for a call named `name` of kind `type`, and its record if any. */
  take(name: string, type: StepType): { seq: number; recorded: StepRow | undefined } {
    // The name goes to a text column, where PostgreSQL refuses a NUL (for every run
    // sharing the statement) and an unpaired surrogate comes back as U+FFFD — a name the
    // replay would not match.
    const bad = stringProblem(name);
    if (bad)
      throw new NonRetryableError(
        `step name ${JSON.stringify(name)} holds ${bad}, which cannot be recorded`,
        'invalid_step_name',
      );
    const seq = ++this.seq;
    this.current = { step: name, seq };
    const recorded = this.record.get(seq);
    if (recorded && (recorded.name !== name || recorded.type !== type)) {
      this.firstViolation = new DeterminismError(
        seq,
        { name: recorded.name, type: recorded.type },
        { name, type },
      );
      throw this.firstViolation;
    }
    return { seq, recorded };
  }

  /**
   * Called when the workflow function has returned: a violation it caught, or a
   * recorded step it never reached (the code now ends earlier), fails the work.
   */
  assertComplete(): void {
    this.throwIfViolated();
    const unvisited = [...this.record.values()]
      .filter((s) => s.seq > this.seq)
      .sort((a, b) => a.seq - b.seq)[0];
    if (unvisited) {
      this.firstViolation = new DeterminismError(
        unvisited.seq,
        { name: unvisited.name, type: unvisited.type },
        null,
      );
      throw this.firstViolation;
    }
  }
}
