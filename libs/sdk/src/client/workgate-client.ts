import { type components, type operations } from './api-types.gen';

/*
 * A client of the operator API for users' own code (`@workgate/sdk/client`): start a
 * work, read it, wait for its result, signal it, list works. Its types come from the
 * OpenAPI document (api-types.gen.ts, `npm run openapi:types`); it has no dependency
 * besides the platform's fetch.
 */

type Schemas = components['schemas'];
type JsonBody<O> = O extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

export type WorkSummary = Schemas['WorkSummary'];
export type WorkDetail = Schemas['WorkDetail'];
export type WorkPage = Schemas['WorkPage'];
export type WorkResult = Schemas['WorkResult'];
export type StartWorkResult = Schemas['StartWorkResult'];
export type ActionResult = Schemas['ActionResult'];
export type Problem = Schemas['Problem'];
export type StartWorkRequest = JsonBody<operations['works_start']>;
export type ListWorksQuery = NonNullable<operations['works_list']['parameters']['query']>;

export interface WorkgateClientOptions {
  /** The gateway, e.g. http://127.0.0.1:3000. */
  url: string;
  /** An API token (`workgate tokens create`); starting and signalling need an operator's. */
  token: string;
  /** Per request (default 30 s; a result's long poll adds its own wait). */
  timeoutMs?: number;
}

/** A refusal from the API, with its RFC 9457 problem details. */
export class WorkgateApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    const fields = (problem.errors ?? []).map((e) => `${e.path}: ${e.message}`).join('; ');
    super(`${status} ${problem.detail ?? problem.title ?? 'error'}${fields ? ` (${fields})` : ''}`);
    this.name = 'WorkgateApiError';
  }
}

/** How long one result request is held by the gateway (its cap is 55 s). */
const RESULT_POLL_MS = 30_000;

export class WorkgateClient {
  private readonly base: string;

  constructor(private readonly options: WorkgateClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** Starts a work; with an idempotency key already seen, answers the first start's work (`created: false`). */
  start(
    kind: string,
    input: unknown,
    options: Omit<StartWorkRequest, 'kind' | 'input'> = {},
  ): Promise<StartWorkResult> {
    return this.request('POST', '/api/v1/works', { kind, input, ...options });
  }

  get(id: string): Promise<WorkDetail> {
    return this.request('GET', `/api/v1/works/${encodeURIComponent(id)}`);
  }

  list(query: ListWorksQuery = {}): Promise<WorkPage> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
      if (value !== undefined)
        params.set(key, Array.isArray(value) ? value.join(',') : String(value));
    return this.request('GET', `/api/v1/works${params.size ? `?${params.toString()}` : ''}`);
  }

  /** One long poll: the work's result once it has ended (`done`), else its state after `waitMs`. */
  result(id: string, waitMs = 0): Promise<WorkResult> {
    return this.request(
      'GET',
      `/api/v1/works/${encodeURIComponent(id)}/result?wait=${Math.max(0, Math.floor(waitMs))}ms`,
      undefined,
      waitMs,
    );
  }

  /** Long-polls until the work has ended, or throws after `timeoutMs` (default: no limit). */
  async waitForResult(id: string, timeoutMs = Number.POSITIVE_INFINITY): Promise<WorkResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = await this.result(id, Math.min(RESULT_POLL_MS, deadline - Date.now()));
      if (result.done) return result;
      if (Date.now() >= deadline)
        throw new Error(`work ${id} is still ${result.state} after ${timeoutMs} ms`);
    }
  }

  /** Answers the work's open wait (or `waitId`'s) with `payload`. */
  signal(id: string, payload: unknown, waitId?: string): Promise<ActionResult> {
    return this.request('POST', `/api/v1/works/${encodeURIComponent(id)}/signal`, {
      payload,
      ...(waitId ? { waitId } : {}),
    });
  }

  private async request<T>(method: string, path: string, body?: unknown, extraMs = 0): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${this.options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout((this.options.timeoutMs ?? 30_000) + extraMs),
    });
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new WorkgateApiError(res.status, parsed ?? {});
    return parsed as T;
  }
}
