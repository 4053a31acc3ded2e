import { agentConfigSchema } from '@app/config';
import { clipSummary, memoryRequest, systemWithMemory, transcriptOf } from './person-memory';

describe(transcriptOf.name, () => {
  it("keeps what the person and the assistant said, not tool calls' plumbing", () => {
    expect(
      transcriptOf([
        { role: 'user', content: 'deploy v2' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'c', name: 'x', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'c', content: '{"ok":true}' },
        { role: 'assistant', content: ' Done. ' },
      ]),
    ).toBe('Person: deploy v2\nAssistant: Done.');
  });
});

describe(clipSummary.name, () => {
  it('keeps a summary that fits', () => {
    expect(clipSummary('  short  ', 100)).toBe('short');
  });
  it('cuts a longer one at the last break that fits', () => {
    expect(clipSummary('alpha beta gamma delta', 12)).toBe('alpha beta');
    expect(clipSummary('one\ntwo three', 10)).toBe('one\ntwo');
  });
  it('cuts hard when no break is near', () => {
    expect(clipSummary('abcdefghijkl', 5)).toBe('abcde');
  });
});

describe(systemWithMemory.name, () => {
  const ref = { person: 'telegram:main:1', channel: 'telegram', source: 'main' };
  it('leaves the prompt alone when nothing is remembered', () => {
    expect(systemWithMemory('sys', null)).toBe('sys');
    expect(systemWithMemory('sys', { ref, summary: null, since: '' })).toBe('sys');
  });
  it('appends the memory', () => {
    expect(systemWithMemory('sys', { ref, summary: 'likes tea', since: '' })).toMatch(
      /^sys\n\nWhat you remember about this person.*\nlikes tea$/s,
    );
  });
});

describe(memoryRequest.name, () => {
  it('asks for the merged memory within the configured length, with the profile model', () => {
    const settings = agentConfigSchema.parse({
      apiKey: 'k',
      model: 'm1',
      memory: { enabled: true, maxLength: 300 },
    });
    const request = memoryRequest(settings, null, 'Person: hi');
    expect(request.model).toBe('m1');
    expect(request.tools).toBeUndefined();
    expect(request.messages[0]!.content).toContain('at most 300 characters');
    expect(request.messages[1]!.content).toBe(
      'What you remembered:\n(nothing yet)\n\nThe conversation that just ended:\nPerson: hi',
    );
  });
});
