import type OpenAI from 'openai';
import { type LlmCompletion, type LlmToolCall, ModelError } from '@app/engine';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/**
 * A streamed Chat Completion (`stream: true`, `stream_options.include_usage`) put back
 * together into the completion the step records: the content's pieces joined, each tool
 * call's pieces joined by their `index` (the id and name come in the first piece, the
 * arguments in many), the finish reason from the choice, and the usage from the last
 * chunk (its `choices` is empty). `onText` sees the content so far after each piece.
 */
export async function collectChatStream(
  stream: AsyncIterable<Chunk>,
  fallbackModel: string,
  onText: (soFar: string) => void,
): Promise<LlmCompletion> {
  let content = '';
  let sawContent = false;
  let finishReason: string | null = null;
  let model = '';
  let usage: Chunk['usage'] = null;
  let sawChoice = false;
  const calls = new Map<number, LlmToolCall>();
  for await (const chunk of stream) {
    model ||= chunk.model;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    sawChoice = true;
    if (choice.finish_reason) finishReason = choice.finish_reason;
    const { delta } = choice;
    for (const piece of delta.tool_calls ?? []) {
      const call = calls.get(piece.index) ?? { id: '', name: '', arguments: '' };
      call.id ||= piece.id ?? '';
      call.name ||= piece.function?.name ?? '';
      call.arguments += piece.function?.arguments ?? '';
      calls.set(piece.index, call);
    }
    if (delta.content) {
      content += delta.content;
      sawContent = true;
      try {
        onText(content);
      } catch {
        // The preview is best-effort: it never fails the model call.
      }
    }
  }
  if (!sawChoice) throw new ModelError('the model answered without a choice', 'server');
  const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return {
    message: {
      role: 'assistant',
      content: sawContent ? content : null,
      ...(toolCalls.length ? { toolCalls } : {}),
    },
    finishReason,
    usage: {
      inputTokens: usage?.prompt_tokens ?? 0,
      outputTokens: usage?.completion_tokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    },
    model: model || fallbackModel,
  };
}
