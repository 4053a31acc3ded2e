import { type StepRow, type StepType } from '@app/ledger';
import { ReplayCursor } from './replay-cursor';
import { DeterminismError, NonRetryableError } from './workflow.errors';

const recorded = (seq: number, name: string, type: StepType = 'task') =>
  ({ seq, name, type, status: 'completed' }) as StepRow;
const cursorOver = (...rows: StepRow[]) => new ReplayCursor(new Map(rows.map((r) => [r.seq, r])));

describe(ReplayCursor.name, () => {
  it('hands out positions in order, with what the record holds there', () => {
    const cursor = cursorOver(recorded(1, 'a'));
    expect(cursor.take('a', 'task')).toMatchObject({ seq: 1, recorded: { name: 'a' } });
    expect(cursor.take('b', 'task')).toEqual({ seq: 2, recorded: undefined });
    expect(cursor.currentStep).toEqual({ step: 'b', seq: 2 });
  });

  it.each<[string, string, StepType]>([
    ['another name', 'b', 'task'],
    ['another kind', 'a', 'llm'],
  ])('a record with %s at the position is a determinism error, and it sticks', (_, name, type) => {
    const cursor = cursorOver(recorded(1, 'a'));
    expect(() => cursor.take(name, type)).toThrow(DeterminismError);
    expect(cursor.violation).toBeInstanceOf(DeterminismError);
    expect(() => cursor.throwIfViolated()).toThrow(DeterminismError);
    expect(() => cursor.assertComplete()).toThrow(DeterminismError);
  });

  it('a recorded step the code never reached fails the replay at its end', () => {
    const cursor = cursorOver(recorded(1, 'a'), recorded(2, 'b'));
    cursor.take('a', 'task');
    expect(() => cursor.assertComplete()).toThrow(/step 2: the record has task "b"/);
    expect(cursor.violation?.seq).toBe(2);
  });

  it('refuses a step name a text column cannot hold back unchanged', () => {
    const cursor = cursorOver();
    expect(() => cursor.take('a\u0000b', 'task')).toThrow(NonRetryableError);
    expect(() => cursor.take('\ud800', 'task')).toThrow(NonRetryableError);
    expect(cursor.currentStep).toBeUndefined();
  });
});
