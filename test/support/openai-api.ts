import { createServer, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type Stall, streamChatCompletion, streamResponse } from './openai-stream';

export interface ScriptedUsage {
  prompt: number;
  completion: number;
  cached?: number;
}

type ScriptedMessage = {
  kind?: 'message';
  content?: string | null;
  toolCalls?: Array<{ id?: string; name: string; arguments: unknown }>;
  usage?: ScriptedUsage;
  model?: string;
  /** Cut short at the output token limit (finish_reason length / status incomplete). */
  truncated?: boolean;
  /** The answer waits for this (a model still thinking while the test does something). */
  gate?: Promise<unknown>;
  /** Streamed (`stream: true`): the content's pieces, default the content in three. */
  pieces?: string[];
  /** Streamed: holds the stream after so many pieces until the promise settles. */
  stall?: Stall | Stall[];
};

/** One scripted answer of POST /v1/chat/completions or POST /v1/responses. */
export type ScriptedReply =
  | ScriptedMessage
  | { kind: 'rate_limit'; retryAfterSeconds?: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'context_length' };

export interface ChatRequest {
  /** `/v1/chat/completions` or `/v1/responses`. */
  path: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  at: number;
}

const ROUTES = ['/v1/chat/completions', '/v1/responses'];

const argumentsOf = (args: unknown) => (typeof args === 'string' ? args : JSON.stringify(args));

/** A scripted message as a chat.completion. */
function chatCompletion(n: number, reply: ScriptedMessage, body: any) {
  const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({
    id: c.id ?? `call_${n}_${i}`,
    type: 'function',
    function: { name: c.name, arguments: argumentsOf(c.arguments) },
  }));
  const usage = reply.usage ?? { prompt: 100, completion: 20 };
  return {
    id: `chatcmpl-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: reply.model ?? body.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          refusal: null,
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: reply.truncated ? 'length' : toolCalls.length ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: usage.prompt,
      completion_tokens: usage.completion,
      total_tokens: usage.prompt + usage.completion,
      prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
    },
  };
}

/**
 * A scripted message as a Responses API `response` object: a `message` output item with
 * `output_text`, then one `function_call` item per tool call, as OpenAI lists them.
 */
function responseObject(n: number, reply: ScriptedMessage, body: any) {
  const usage = reply.usage ?? { prompt: 100, completion: 20 };
  const output: unknown[] = [];
  if (reply.content)
    output.push({
      type: 'message',
      id: `msg_${n}`,
      status: reply.truncated ? 'incomplete' : 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: reply.content, annotations: [], logprobs: [] }],
    });
  (reply.toolCalls ?? []).forEach((c, i) =>
    output.push({
      type: 'function_call',
      id: `fc_${n}_${i}`,
      call_id: c.id ?? `call_${n}_${i}`,
      name: c.name,
      arguments: argumentsOf(c.arguments),
      status: 'completed',
    }),
  );
  return {
    id: `resp_${n}`,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: reply.truncated ? 'incomplete' : 'completed',
    error: null,
    incomplete_details: reply.truncated ? { reason: 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: reply.model ?? body.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: body.tools ?? [],
    top_p: 1,
    truncation: 'disabled',
    usage: {
      input_tokens: usage.prompt,
      input_tokens_details: { cached_tokens: usage.cached ?? 0 },
      output_tokens: usage.completion,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.prompt + usage.completion,
    },
    user: null,
    metadata: {},
  };
}

/**
 * A loopback OpenAI-compatible API for the real `openai` SDK (baseURL = `${url}/v1`):
 * POST /v1/chat/completions and POST /v1/responses answer the next scripted reply, from
 * one script, in their real wire formats (chat.completion with tool_calls, usage incl.
 * prompt_tokens_details.cached_tokens, finish_reason; response with message and
 * function_call output items, usage incl. input_tokens_details.cached_tokens, status
 * and incomplete_details), or the real error envelopes: 429 with retry-after, 5xx, 400
 * context_length_exceeded. `stream: true` is answered as OpenAI streams (server-sent
 * chat.completion.chunk events, or the Responses API's typed events: openai-stream.ts). Every request is
 * recorded with its path.
 */
export class OpenAiApiServer {
  readonly requests: ChatRequest[] = [];
  /** POST /v1/audio/transcriptions calls: the model and the uploaded file. */
  readonly transcriptions: Array<{ model: string; name: string; type: string; bytes: number }> = [];
  /** What the next transcriptions answer (in order); then `transcript of <file name>`. */
  readonly transcripts: string[] = [];
  private readonly script: ScriptedReply[] = [];
  /**
   * Answers a request by what it asks, before the script: for calls whose order against
   * the others is not fixed (an assistant's memory summary while another work starts).
   */
  answerBy?: (body: any) => ScriptedReply | undefined;
  private server?: Server;
  private seq = 0;

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get baseURL(): string {
    return `${this.url}/v1`;
  }

  /** Queues replies, answered in order; with an empty script the server answers 500. */
  enqueue(...replies: ScriptedReply[]): this {
    this.script.push(...replies);
    return this;
  }

  get pending(): number {
    return this.script.length;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/audio/transcriptions')
          return void this.transcribe(
            String(req.headers['content-type'] ?? ''),
            Buffer.concat(chunks),
            res,
          );
        const text = Buffer.concat(chunks).toString('utf8');
        const body = text ? JSON.parse(text) : undefined;
        const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          this.requests.push({
            path: req.url ?? '',
            body,
            headers: req.headers,
            status,
            at: Date.now(),
          });
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(payload));
        };
        if (req.method !== 'POST' || !ROUTES.includes(req.url ?? ''))
          return send(404, {
            error: { message: `no route ${req.url}`, type: 'invalid_request_error' },
          });
        const reply = this.answerBy?.(body) ?? this.script.shift();
        if (!reply)
          return send(500, { error: { message: 'script exhausted', type: 'server_error' } });
        switch (reply.kind) {
          case 'rate_limit':
            return send(
              429,
              {
                error: {
                  message: 'Rate limit reached for requests',
                  type: 'requests',
                  param: null,
                  code: 'rate_limit_exceeded',
                },
              },
              { 'retry-after': String(reply.retryAfterSeconds ?? 0) },
            );
          case 'server_error':
            return send(reply.status ?? 500, {
              error: {
                message: 'The server had an error',
                type: 'server_error',
                param: null,
                code: null,
              },
            });
          case 'context_length':
            return send(400, {
              error: {
                message: "This model's maximum context length is 128000 tokens.",
                type: 'invalid_request_error',
                param: req.url === '/v1/responses' ? 'input' : 'messages',
                code: 'context_length_exceeded',
              },
            });
          default: {
            const n = ++this.seq;
            if (body?.stream === true) {
              this.requests.push({
                path: req.url ?? '',
                body,
                headers: req.headers,
                status: 200,
                at: Date.now(),
              });
              return void this.stream(res, n, reply, body);
            }
            const answer = () =>
              send(
                200,
                req.url === '/v1/responses'
                  ? responseObject(n, reply, body)
                  : chatCompletion(n, reply, body),
                { 'x-request-id': `req_${n}` },
              );
            if (reply.gate) void reply.gate.then(answer);
            else answer();
            return;
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /**
   * audio.transcriptions.create: multipart with `file` and `model`, answered
   * `{ "text": … }` (response_format json, the SDK's default); 400 without a file.
   */
  private async transcribe(contentType: string, body: Buffer, res: ServerResponse): Promise<void> {
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (!contentType.startsWith('multipart/form-data'))
      return send(400, {
        error: { message: 'expected multipart/form-data', type: 'invalid_request_error' },
      });
    const form = await new Response(new Uint8Array(body), {
      headers: { 'content-type': contentType },
    }).formData();
    const file = form.get('file');
    if (!file || typeof file === 'string')
      return send(400, { error: { message: "'file' is required", type: 'invalid_request_error' } });
    const upload = file;
    this.transcriptions.push({
      model: typeof form.get('model') === 'string' ? (form.get('model') as string) : '',
      name: upload.name,
      type: upload.type,
      bytes: upload.size,
    });
    send(200, { text: this.transcripts.shift() ?? `transcript of ${upload.name}` });
  }

  /** A scripted message streamed as chat.completion.chunk events (after its gate, if any). */
  private async stream(res: ServerResponse, n: number, reply: ScriptedMessage, body: any) {
    await reply.gate;
    if (body.input !== undefined)
      return streamResponse(res, n, responseObject(n, reply, body), {
        ...(reply.pieces ? { pieces: reply.pieces } : {}),
        ...(reply.stall ? { stall: reply.stall } : {}),
      });
    const whole = chatCompletion(n, reply, body);
    const message = whole.choices[0]!.message;
    await streamChatCompletion(
      res,
      n,
      {
        content: message.content,
        toolCalls: (message.tool_calls ?? []).map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        })),
        finishReason: whole.choices[0]!.finish_reason,
        usage: reply.usage ?? { prompt: 100, completion: 20 },
        model: whole.model,
        ...(reply.pieces ? { pieces: reply.pieces } : {}),
        ...(reply.stall ? { stall: reply.stall } : {}),
      },
      body.stream_options?.include_usage === true,
    );
  }

  /** Successful completions only (what the model "said"). */
  get completions(): ChatRequest[] {
    return this.requests.filter((r) => r.status === 200);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
