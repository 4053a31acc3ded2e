import type OpenAI from 'openai';
import { type LlmRequest, ModelError } from '@app/engine';
import { fromResponse, toResponsesParams } from './openai-responses-model.client';

/** The fields fromResponse reads; the rest of a Response does not matter to it. */
const response = (fields: Partial<OpenAI.Responses.Response>) =>
  ({ model: 'gpt-test', status: 'completed', output: [], ...fields }) as OpenAI.Responses.Response;

const text = (t: string) => ({
  type: 'message' as const,
  id: 'msg_1',
  role: 'assistant' as const,
  status: 'completed' as const,
  content: [{ type: 'output_text' as const, text: t, annotations: [] }],
});

describe(toResponsesParams.name, () => {
  const request: LlmRequest = {
    model: 'gpt-test',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'deploy v2' },
      {
        role: 'assistant',
        content: 'Looking it up.',
        toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"q":"v2"}' }],
      },
      { role: 'tool', toolCallId: 'call_1', content: '{"found":true}' },
      { role: 'assistant', content: 'Done.' },
      { role: 'user', content: 'thanks' },
    ],
    tools: [{ name: 'lookup', description: 'Look up', parameters: { type: 'object' } }],
    temperature: 0.2,
    maxTokens: 500,
  };

  it('maps the conversation to instructions and input items, calls and outputs joined by call_id', () => {
    const params = toResponsesParams(request);
    expect(params).toEqual({
      model: 'gpt-test',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'deploy v2' },
        { role: 'assistant', content: 'Looking it up.' },
        { type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"v2"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"found":true}' },
        { role: 'assistant', content: 'Done.' },
        { role: 'user', content: 'thanks' },
      ],
      store: false,
      tools: [
        {
          type: 'function',
          name: 'lookup',
          description: 'Look up',
          parameters: { type: 'object' },
          strict: false,
        },
      ],
      temperature: 0.2,
      max_output_tokens: 500,
    });
  });

  it('sends an assistant turn without text as its function calls only, and omits what is unset', () => {
    const params = toResponsesParams({
      model: 'm',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'c', name: 't', arguments: '{}' }] },
      ],
    });
    expect(params).toEqual({
      model: 'm',
      input: [
        { role: 'user', content: 'hi' },
        { type: 'function_call', call_id: 'c', name: 't', arguments: '{}' },
      ],
      store: false,
    });
  });
});

describe(fromResponse.name, () => {
  it('maps function_call items to tool calls by call_id, and usage with cached tokens', () => {
    const completion = fromResponse(
      response({
        model: 'gpt-test-2025-01-01',
        output: [
          text('Let me check.'),
          {
            type: 'function_call',
            id: 'fc_1',
            call_id: 'call_9',
            name: 'lookup',
            arguments: '{"q":"v2"}',
            status: 'completed',
          },
        ],
        usage: {
          input_tokens: 1000,
          input_tokens_details: { cached_tokens: 400, cache_write_tokens: 0 },
          output_tokens: 50,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 1050,
        },
      }),
      'gpt-test',
    );
    expect(completion).toEqual({
      message: {
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"v2"}' }],
      },
      finishReason: 'tool_calls',
      usage: { inputTokens: 1000, outputTokens: 50, cachedTokens: 400 },
      model: 'gpt-test-2025-01-01',
    });
  });

  it.each([
    ['completed', null, 'stop'],
    ['incomplete', { reason: 'max_output_tokens' as const }, 'length'],
    ['incomplete', { reason: 'content_filter' as const }, 'content_filter'],
  ] as const)('status %s (%j) finishes as %s', (status, incomplete_details, reason) => {
    const completion = fromResponse(
      response({ status, incomplete_details, output: [text('a')] }),
      'm',
    );
    expect(completion.finishReason).toBe(reason);
    expect(completion.message).toEqual({ role: 'assistant', content: 'a' });
  });

  it('answers with a refusal when there is no text, and null content when there is neither', () => {
    const refused = fromResponse(
      response({
        output: [
          {
            ...text(''),
            content: [{ type: 'refusal', refusal: 'I cannot help with that.' }],
          },
        ],
      }),
      'm',
    );
    expect(refused.message.content).toBe('I cannot help with that.');
    expect(fromResponse(response({ output: [] }), 'm').message.content).toBeNull();
    expect(fromResponse(response({ model: '' }), 'asked-for').model).toBe('asked-for');
  });

  it('turns a failed response into a ModelError of the right kind', () => {
    const failed = (code: OpenAI.Responses.ResponseError['code']) => {
      try {
        fromResponse(response({ status: 'failed', error: { code, message: code } }), 'm');
      } catch (err) {
        return (err as ModelError).kind;
      }
      return 'no error';
    };
    expect(failed('server_error')).toBe('server');
    expect(failed('rate_limit_exceeded')).toBe('rate_limit');
    expect(failed('invalid_prompt')).toBe('fatal');
    expect(() => fromResponse(response({ status: 'failed', error: null }), 'm')).toThrow(
      ModelError,
    );
  });
});
