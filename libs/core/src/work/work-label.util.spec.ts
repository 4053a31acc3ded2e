import { inputWords, workLabel } from './work-label.util';

describe(workLabel.name, () => {
  it('is the title when the work has one', () => {
    expect(workLabel({ kind: 'deploy', title: 'Ship v2 to staging', input: { text: 'x' } })).toBe(
      'Ship v2 to staging',
    );
  });

  it('is the kind and the first words of a chat message otherwise', () => {
    expect(
      workLabel({
        kind: 'assistant',
        input: { text: 'what is the weather in Lisbon tomorrow at noon' },
      }),
    ).toBe('assistant: “what is the weather in Lisbon…”');
    expect(workLabel({ kind: 'triage', input: { prompt: 'sort these' } })).toBe(
      'triage: “sort these”',
    );
    expect(workLabel({ kind: 'nightly', input: null })).toBe('nightly');
  });

  it('keeps long words and JSON inputs short', () => {
    expect(inputWords('x'.repeat(100))).toHaveLength(48);
    expect(inputWords({ order: 42 })).toBe('{"order":42}');
  });
});
