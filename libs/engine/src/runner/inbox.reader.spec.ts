import { groupCollectedBursts } from './inbox.reader';

type Row = Parameters<typeof groupCollectedBursts>[0][number];
const row = (id: string, decision: string, ageMs = 10_000, collectWindowMs: number | null = null) =>
  ({ id, decision, ageMs, collectWindowMs }) as Row;
const shape = (items: ReturnType<typeof groupCollectedBursts>) =>
  items.map((i) => `${i.rows.map((r) => r.id).join('+')}${i.open ? ' (open)' : ''}`);

describe(groupCollectedBursts.name, () => {
  it('joins consecutive collected events into one burst; every other event stands alone', () => {
    const rows = [
      row('a', 'inbox'),
      row('b', 'collected', 5_000, 1_000),
      row('c', 'collected', 4_000, 1_000),
      row('d', 'interrupted'),
      row('e', 'collected', 3_000, 1_000),
    ];
    expect(shape(groupCollectedBursts(rows))).toEqual(['a', 'b+c', 'd', 'e']);
  });

  it('keeps a burst open while its newest event is inside its window', () => {
    const rows = [row('a', 'collected', 5_000, 1_000), row('b', 'collected', 200, 1_000)];
    expect(shape(groupCollectedBursts(rows))).toEqual(['a+b (open)']);
  });

  it('hands out nothing after an open burst, so arrival order is kept', () => {
    const rows = [row('a', 'inbox'), row('b', 'collected', 100, 1_000), row('c', 'inbox')];
    expect(shape(groupCollectedBursts(rows))).toEqual(['a', 'b (open)', 'c (open)']);
  });
});
