import OpenAI from 'openai';
import { type AgentConfig } from '@app/config';
import {
  type LlmCompletion,
  type LlmMessage,
  type LlmRequest,
  type LlmUsage,
  type ModelClient,
  ModelError,
} from '@app/engine';
import { collectChatStream } from './openai-chat-stream';
import { costOf } from './pricing.util';

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

function toWire(m: LlmMessage): ChatMessage {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content ?? '' };
    case 'user':
      if (!m.images?.length) return { role: 'user', content: m.content ?? '' };
      // Vision input: the text, then each image as a data URL (Chat Completions image_url part).
      return {
        role: 'user',
        content: [
          ...(m.content ? [{ type: 'text' as const, text: m.content }] : []),
          ...m.images.map((image) => ({
            type: 'image_url' as const,
            image_url: { url: imageDataUrl(image) },
          })),
        ],
      };
    case 'tool':
      return { role: 'tool', content: m.content ?? '', tool_call_id: m.toolCallId ?? '' };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
  }
}

/** An image as the `data:` URL both OpenAI APIs take in place of a hosted image's URL. */
export function imageDataUrl(image: { mime: string; data: string }): string {
  return `data:${image.mime};base64,${image.data}`;
}

/** Seconds or an HTTP date (RFC 9110 §10.2.3), or OpenAI's own `retry-after-ms`. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (headers?.get('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The SDK's error, classified for ctx.llm (retry, trim, or give up). */
export function classifyModelError(err: unknown): ModelError {
  if (err instanceof ModelError) return err;
  if (err instanceof OpenAI.APIUserAbortError) return new ModelError(err.message, 'fatal');
  if (err instanceof OpenAI.APIConnectionError) return new ModelError(err.message, 'server');
  if (err instanceof OpenAI.APIError) {
    // The SDK types these loosely (`any` through its generics); they are a number and fetch Headers.
    const status = err.status as number | undefined;
    const headers = err.headers as Headers | undefined;
    if (err.code === 'context_length_exceeded')
      return new ModelError(err.message, 'context_length', status);
    if (status === 429)
      return new ModelError(err.message, 'rate_limit', status, retryAfterMs(headers));
    if (status === 408 || status === 409 || (status !== undefined && status >= 500))
      return new ModelError(err.message, 'server', status, retryAfterMs(headers));
    return new ModelError(err.message, 'fatal', status);
  }
  return new ModelError((err as Error).message ?? String(err), 'fatal');
}

/**
 * The SDK pointed at settings.baseURL. Its own retries are off: ctx.llm retries inside
 * the step, where each attempt is visible and the lease is renewed.
 */
export function openAiSdk(settings: AgentConfig): OpenAI {
  return new OpenAI({
    apiKey: settings.apiKey,
    ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
    maxRetries: 0,
    timeout: settings.timeout,
  });
}

/** What both SDK clients share: the SDK over `agent.baseURL`, the provider, the price table. */
export abstract class OpenAiModelClient implements ModelClient {
  readonly provider: string;
  protected readonly sdk: OpenAI;

  constructor(private readonly settings: AgentConfig) {
    this.provider = settings.provider;
    this.sdk = openAiSdk(settings);
  }

  abstract complete(
    request: LlmRequest,
    options: { signal: AbortSignal; onText?: (soFar: string) => void },
  ): Promise<LlmCompletion>;

  cost(model: string, usage: LlmUsage): number {
    return costOf(this.settings.prices, model, usage);
  }
}

/** The Chat Completions request for a provider-neutral one (without `stream`). */
function chatBody(
  request: LlmRequest,
): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
  return {
    model: request.model,
    messages: request.messages.map(toWire),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((t) => ({
            type: 'function' as const,
            function: { name: t.name, description: t.description, parameters: t.parameters },
          })),
        }
      : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.maxTokens !== undefined ? { max_completion_tokens: request.maxTokens } : {}),
  };
}

/**
 * The ModelClient port over the official `openai` SDK (Chat Completions), pointed at
 * any OpenAI-compatible server by baseURL.
 */
export class OpenAiChatModelClient extends OpenAiModelClient {
  async complete(
    request: LlmRequest,
    options: { signal: AbortSignal; onText?: (soFar: string) => void },
  ): Promise<LlmCompletion> {
    const body = chatBody(request);
    const { onText } = options;
    if (onText) {
      // Streamed for the chat's preview; a failure mid-stream is classified like any other.
      try {
        const stream = await this.sdk.chat.completions.create(
          { ...body, stream: true, stream_options: { include_usage: true } },
          { signal: options.signal },
        );
        return await collectChatStream(stream, request.model, onText);
      } catch (err) {
        throw classifyModelError(err);
      }
    }
    let res: OpenAI.Chat.Completions.ChatCompletion;
    try {
      res = await this.sdk.chat.completions.create(body, { signal: options.signal });
    } catch (err) {
      throw classifyModelError(err);
    }
    const choice = res.choices[0];
    if (!choice) throw new ModelError('the model answered without a choice', 'server');
    const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) =>
      c.type === 'function'
        ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }]
        : [],
    );
    const usage: LlmUsage = {
      inputTokens: res.usage?.prompt_tokens ?? 0,
      outputTokens: res.usage?.completion_tokens ?? 0,
      cachedTokens: res.usage?.prompt_tokens_details?.cached_tokens ?? 0,
    };
    return {
      message: {
        role: 'assistant',
        content: choice.message.content ?? null,
        ...(toolCalls.length ? { toolCalls } : {}),
      },
      finishReason: choice.finish_reason ?? null,
      usage,
      model: res.model || request.model,
    };
  }
}
