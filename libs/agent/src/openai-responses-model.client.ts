import type OpenAI from 'openai';
import {
  type LlmCompletion,
  type LlmRequest,
  type LlmToolCall,
  type LlmUsage,
  ModelError,
} from '@app/engine';
import { classifyModelError, imageDataUrl, OpenAiModelClient } from './openai-model.client';

type ResponsesParams = OpenAI.Responses.ResponseCreateParamsNonStreaming;
type InputItem = OpenAI.Responses.ResponseInputItem;

/**
 * The request in the Responses API's terms: the leading system prompt becomes
 * `instructions`; user and assistant text become message items, an assistant's tool
 * calls `function_call` items and tool results `function_call_output` items, joined by
 * call_id. `store: false`: the conversation lives in our ledger, rebuilt from recorded
 * steps on every run, and is sent whole each time — nothing is kept at OpenAI for a
 * `previous_response_id` to point at, so a replay or another worker never depends on
 * state held there.
 */
export function toResponsesParams(request: LlmRequest): ResponsesParams {
  const { messages } = request;
  let start = 0;
  const instructions: string[] = [];
  while (messages[start]?.role === 'system') instructions.push(messages[start++]!.content ?? '');
  const input: InputItem[] = [];
  for (const m of messages.slice(start)) {
    switch (m.role) {
      case 'system':
        input.push({ role: m.role, content: m.content ?? '' });
        break;
      case 'user':
        input.push(userItem(m));
        break;
      case 'assistant':
        if (m.content) input.push({ role: 'assistant', content: m.content });
        for (const c of m.toolCalls ?? [])
          input.push({
            type: 'function_call',
            call_id: c.id,
            name: c.name,
            arguments: c.arguments,
          });
        break;
      case 'tool':
        input.push({
          type: 'function_call_output',
          call_id: m.toolCallId ?? '',
          output: m.content ?? '',
        });
        break;
    }
  }
  return {
    model: request.model,
    ...(instructions.length ? { instructions: instructions.join('\n\n') } : {}),
    input,
    store: false,
    ...(request.tools?.length
      ? {
          // Not strict: strict mode wants every property required and additionalProperties
          // false, which zod's JSON Schema for optional or defaulted fields is not.
          tools: request.tools.map((t) => ({
            type: 'function' as const,
            name: t.name,
            description: t.description,
            parameters: t.parameters,
            strict: false,
          })),
        }
      : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_output_tokens: request.maxTokens } : {}),
  };
}

/** A user message; with images, `input_text` and `input_image` parts (data URLs). */
function userItem(m: LlmRequest['messages'][number]): InputItem {
  if (!m.images?.length) return { role: 'user', content: m.content ?? '' };
  return {
    role: 'user',
    content: [
      ...(m.content ? [{ type: 'input_text' as const, text: m.content }] : []),
      ...m.images.map((image) => ({
        type: 'input_image' as const,
        image_url: imageDataUrl(image),
        detail: 'auto' as const,
      })),
    ],
  };
}

/** Chat Completions' finish_reason names, so ModelCall rows read the same for both APIs. */
function finishReasonOf(res: OpenAI.Responses.Response, toolCalls: number): string {
  if (res.status === 'incomplete') {
    const reason = res.incomplete_details?.reason;
    return reason === 'max_output_tokens' ? 'length' : (reason ?? 'incomplete');
  }
  if (toolCalls) return 'tool_calls';
  return !res.status || res.status === 'completed' ? 'stop' : res.status;
}

/**
 * A response as an LlmCompletion: `function_call` items are the tool calls (their
 * call_id is the id a `function_call_output` answers), the output text of its message
 * items the content. Reasoning items are not kept: with `store: false` they could only
 * be sent back encrypted, and the model does without them.
 */
export function fromResponse(
  res: OpenAI.Responses.Response,
  requestedModel: string,
): LlmCompletion {
  if (res.status === 'failed') {
    const code = res.error?.code;
    throw new ModelError(
      res.error?.message ?? 'the response failed',
      code === 'rate_limit_exceeded' ? 'rate_limit' : code === 'server_error' ? 'server' : 'fatal',
    );
  }
  const toolCalls: LlmToolCall[] = [];
  const texts: string[] = [];
  const refusals: string[] = [];
  for (const item of res.output) {
    if (item.type === 'function_call')
      toolCalls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
    else if (item.type === 'message') {
      const text = item.content.flatMap((p) => (p.type === 'output_text' ? [p.text] : []));
      if (text.length) texts.push(text.join(''));
      for (const p of item.content) if (p.type === 'refusal') refusals.push(p.refusal);
    }
  }
  // A refusal is the model's answer to the person: it reaches the chat like one.
  const content = texts.join('\n\n') || refusals.join('\n\n') || null;
  const usage: LlmUsage = {
    inputTokens: res.usage?.input_tokens ?? 0,
    outputTokens: res.usage?.output_tokens ?? 0,
    cachedTokens: res.usage?.input_tokens_details?.cached_tokens ?? 0,
  };
  return {
    message: { role: 'assistant', content, ...(toolCalls.length ? { toolCalls } : {}) },
    finishReason: finishReasonOf(res, toolCalls.length),
    usage,
    model: res.model || requestedModel,
  };
}

/**
 * The ModelClient port over the `openai` SDK's Responses API (`agent.api: responses`).
 * Same errors as Chat Completions (429 with retry-after, 5xx, context_length_exceeded)
 * through the same classification.
 */
export class OpenAiResponsesModelClient extends OpenAiModelClient {
  async complete(
    request: LlmRequest,
    options: { signal: AbortSignal; onText?: (soFar: string) => void },
  ): Promise<LlmCompletion> {
    let res: OpenAI.Responses.Response;
    try {
      res = options.onText
        ? await this.streamed(request, options.signal, options.onText)
        : await this.sdk.responses.create(toResponsesParams(request), { signal: options.signal });
    } catch (err) {
      throw classifyModelError(err);
    }
    return fromResponse(res, request.model);
  }

  /**
   * The response streamed (`stream: true`) for the chat's preview: the output text's
   * deltas as they come (a new message item starts a new paragraph, as fromResponse
   * joins them), and the response itself from the event that ends the stream
   * (response.completed, .incomplete or .failed), read like an unstreamed one.
   */
  private async streamed(
    request: LlmRequest,
    signal: AbortSignal,
    onText: (soFar: string) => void,
  ): Promise<OpenAI.Responses.Response> {
    const stream = await this.sdk.responses.create(
      { ...toResponsesParams(request), stream: true },
      { signal },
    );
    let text = '';
    let item: number | undefined;
    for await (const event of stream) {
      switch (event.type) {
        case 'response.output_text.delta':
          if (item !== undefined && item !== event.output_index && text) text += '\n\n';
          item = event.output_index;
          text += event.delta;
          try {
            onText(text);
          } catch {
            // The preview is best-effort: it never fails the model call.
          }
          break;
        case 'response.completed':
        case 'response.incomplete':
        case 'response.failed':
          return event.response;
        case 'error':
          throw new ModelError(
            event.message,
            event.code === 'rate_limit_exceeded' ? 'rate_limit' : 'server',
          );
        default:
          break;
      }
    }
    throw new ModelError('the response stream ended before the response did', 'server');
  }
}
