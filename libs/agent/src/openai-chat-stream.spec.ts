import type OpenAI from 'openai';
import { ModelError } from '@app/engine';
import { collectChatStream } from './openai-chat-stream';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type Delta = Chunk['choices'][number]['delta'];

const chunk = (delta: Delta | null, extra: Partial<Chunk> = {}): Chunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'gpt-test-2025',
  choices: delta ? [{ index: 0, delta, finish_reason: null }] : [],
  ...extra,
});

async function* chunks(...all: Chunk[]): AsyncIterable<Chunk> {
  yield* all;
}

describe(collectChatStream.name, () => {
  it('joins the content, reports it as it grows, and takes the usage from the last chunk', async () => {
    const seen: string[] = [];
    const done = await collectChatStream(
      chunks(
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Hel' }),
        chunk({ content: 'lo.' }),
        { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
        chunk(null, {
          usage: {
            prompt_tokens: 10,
            completion_tokens: 2,
            total_tokens: 12,
            prompt_tokens_details: { cached_tokens: 4 },
          },
        }),
      ),
      'gpt-test',
      (soFar) => seen.push(soFar),
    );
    expect(seen).toEqual(['Hel', 'Hello.']);
    expect(done).toEqual({
      message: { role: 'assistant', content: 'Hello.' },
      finishReason: 'stop',
      usage: { inputTokens: 10, outputTokens: 2, cachedTokens: 4 },
      model: 'gpt-test-2025',
    });
  });

  it('puts tool calls together by index, with no content and no text reported', async () => {
    const seen: string[] = [];
    const done = await collectChatStream(
      chunks(
        chunk({
          tool_calls: [
            { index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } },
          ],
        }),
        chunk({
          tool_calls: [
            { index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"x"}' } }] }),
        { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      ),
      'gpt-test',
      (soFar) => seen.push(soFar),
    );
    expect(seen).toEqual([]);
    expect(done.message).toEqual({
      role: 'assistant',
      content: null,
      toolCalls: [
        { id: 'call_a', name: 'a', arguments: '{"q":"x"}' },
        { id: 'call_b', name: 'b', arguments: '{}' },
      ],
    });
    expect(done.usage).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
  });

  it('a preview that throws does not fail the call; a stream without a choice does', async () => {
    const done = await collectChatStream(chunks(chunk({ content: 'ok' })), 'gpt-test', () => {
      throw new Error('chat down');
    });
    expect(done.message.content).toBe('ok');
    await expect(
      collectChatStream(chunks(chunk(null)), 'gpt-test', () => undefined),
    ).rejects.toThrow(ModelError);
  });
});
