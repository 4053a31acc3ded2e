import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';

export interface ScriptedUsage {
  prompt: number;
  completion: number;
  cached?: number;
}

/** One scripted answer of POST /v1/chat/completions. */
export type ScriptedReply =
  | {
      kind?: 'message';
      content?: string | null;
      toolCalls?: Array<{ id?: string; name: string; arguments: unknown }>;
      usage?: ScriptedUsage;
      model?: string;
    }
  | { kind: 'rate_limit'; retryAfterSeconds?: number }
  | { kind: 'server_error'; status?: number }
  | { kind: 'context_length' };

export interface ChatRequest {
  body: any;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  at: number;
}

/**
 * A loopback OpenAI-compatible API for the real `openai` SDK (baseURL = `${url}/v1`):
 * POST /v1/chat/completions answers the next scripted reply in the real wire format
 * (chat.completion with tool_calls, usage incl. prompt_tokens_details.cached_tokens,
 * finish_reason), or the real error envelopes: 429 with retry-after, 5xx, 400
 * context_length_exceeded. Every request is recorded.
 */
export class OpenAiApiServer {
  readonly requests: ChatRequest[] = [];
  private readonly script: ScriptedReply[] = [];
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
        const text = Buffer.concat(chunks).toString('utf8');
        const body = text ? JSON.parse(text) : undefined;
        const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
          this.requests.push({ body, headers: req.headers, status, at: Date.now() });
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(payload));
        };
        if (req.method !== 'POST' || req.url !== '/v1/chat/completions')
          return send(404, {
            error: { message: `no route ${req.url}`, type: 'invalid_request_error' },
          });
        const reply = this.script.shift();
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
                param: 'messages',
                code: 'context_length_exceeded',
              },
            });
          default: {
            const n = ++this.seq;
            const toolCalls = (reply.toolCalls ?? []).map((c, i) => ({
              id: c.id ?? `call_${n}_${i}`,
              type: 'function',
              function: {
                name: c.name,
                arguments:
                  typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
              },
            }));
            const usage = reply.usage ?? { prompt: 100, completion: 20 };
            return send(
              200,
              {
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
                    finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
                  },
                ],
                usage: {
                  prompt_tokens: usage.prompt,
                  completion_tokens: usage.completion,
                  total_tokens: usage.prompt + usage.completion,
                  prompt_tokens_details: { cached_tokens: usage.cached ?? 0 },
                },
              },
              { 'x-request-id': `req_${n}` },
            );
          }
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
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
