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

/** Pieces of a text and the stalls between them, as a scripted reply gives them. */
interface Pacing {
  pieces?: string[];
  stall?: Stall | Stall[];
}

/**
 * A Responses API response as OpenAI streams it (`stream: true`): typed server-sent
 * events with a sequence_number — response.created and .in_progress, then per output
 * item output_item.added, its content (output_text.delta in pieces, then .done, inside
 * content_part.added / .done) or its function_call_arguments.delta / .done, and
 * output_item.done; last response.completed (or .incomplete) carrying the response.
 */
export async function streamResponse(
  res: ServerResponse,
  n: number,
  response: Record<string, any>,
  pacing: Pacing,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': `req_${n}`,
  });
  let seq = 0;
  const event = (type: string, data: Record<string, unknown>) =>
    res.write(
      `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`,
    );
  const pending = { ...response, status: 'in_progress', output: [], usage: null };
  event('response.created', { response: pending });
  event('response.in_progress', { response: pending });
  for (const [output_index, item] of (response.output as Array<Record<string, any>>).entries()) {
    const at = { output_index, item_id: item.id };
    if (item.type === 'function_call') {
      event('response.output_item.added', {
        output_index,
        item: { ...item, arguments: '', status: 'in_progress' },
      });
      event('response.function_call_arguments.delta', { ...at, delta: item.arguments });
      event('response.function_call_arguments.done', { ...at, arguments: item.arguments });
      event('response.output_item.done', { output_index, item });
      continue;
    }
    const text = String(item.content[0]?.text ?? '');
    const part = { ...at, content_index: 0 };
    event('response.output_item.added', {
      output_index,
      item: { ...item, status: 'in_progress', content: [] },
    });
    event('response.content_part.added', {
      ...part,
      part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
    });
    const pieces = pacing.pieces ?? split(text);
    const stalls = pacing.stall ? [pacing.stall].flat() : [];
    for (const [i, delta] of pieces.entries()) {
      for (const stall of stalls) if (stall.afterPieces === i) await stall.until;
      if (res.destroyed) return;
      event('response.output_text.delta', { ...part, delta, logprobs: [] });
    }
    event('response.output_text.done', { ...part, text, logprobs: [] });
    event('response.content_part.done', { ...part, part: item.content[0] });
    event('response.output_item.done', { output_index, item });
  }
  const done = response.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
  event(done, { response });
  res.end();
}
