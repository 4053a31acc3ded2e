import { type ServerResponse } from 'node:http';

/** A pause in a stream: after this many pieces, until the promise settles. */
export interface Stall {
  afterPieces: number;
  until: Promise<unknown>;
}

/** What a streamed answer is made of (the scripted reply, already resolved). */
export interface StreamedAnswer {
  content: string | null;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string;
  usage: { prompt: number; completion: number; cached?: number };
  model: string;
  /** The content's pieces, in order (default: the content in three). */
  pieces?: string[];
  /** Holds the stream after so many pieces until the promise settles (a model mid-answer). */
  stall?: Stall | Stall[];
}

function split(content: string): string[] {
  const size = Math.max(1, Math.ceil(content.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < content.length; i += size) pieces.push(content.slice(i, i + size));
  return pieces;
}

/**
 * A chat completion as OpenAI streams it (`stream: true`): server-sent events, each a
 * `chat.completion.chunk` — the role first, the content in pieces, each tool call's id
 * and name in its first piece and its arguments after, the finish reason in a chunk of
 * its own, the usage in a last chunk with no choices when `stream_options.include_usage`
 * asked for it, then `data: [DONE]`.
 */
export async function streamChatCompletion(
  res: ServerResponse,
  n: number,
  answer: StreamedAnswer,
  includeUsage: boolean,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': `req_${n}`,
  });
  const base = {
    id: `chatcmpl-${n}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: answer.model,
    system_fingerprint: null,
  };
  const event = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const choice = (delta: unknown, finish: string | null = null) =>
    event({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  choice({ role: 'assistant', content: '', refusal: null });
  const pieces = answer.pieces ?? (answer.content ? split(answer.content) : []);
  for (const [i, piece] of pieces.entries()) {
    const stalls = answer.stall ? [answer.stall].flat() : [];
    for (const stall of stalls) if (stall.afterPieces === i) await stall.until;
    if (res.destroyed) return;
    choice({ content: piece });
  }
  answer.toolCalls.forEach((call, index) => {
    choice({
      tool_calls: [
        { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
      ],
    });
    const half = Math.ceil(call.arguments.length / 2);
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)])
      if (part) choice({ tool_calls: [{ index, function: { arguments: part } }] });
  });
  choice({}, answer.finishReason);
  if (includeUsage)
    event({
      ...base,
      choices: [],
      usage: {
        prompt_tokens: answer.usage.prompt,
        completion_tokens: answer.usage.completion,
        total_tokens: answer.usage.prompt + answer.usage.completion,
        prompt_tokens_details: { cached_tokens: answer.usage.cached ?? 0 },
      },
    });
  res.end('data: [DONE]\n\n');
}
