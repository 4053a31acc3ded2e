import { loadConfig } from '@app/config';
import { CliError, EXIT, type ExitCode } from '../exit-codes';

export interface ApiOptions {
  /** Gateway base URL; default $WORKGATE_URL, then http://127.0.0.1:3000. */
  url?: string;
  /** Bearer token; default $WORKGATE_TOKEN. */
  token?: string;
}

/** An RFC 9457 problem as the API answers errors. */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  code?: string;
  currentState?: string;
  errors?: Array<{ path: string; message: string }>;
  [key: string]: unknown;
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

const TIMEOUT_MS = 30_000;

export function exitCodeFor(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.failed;
}

/** A refusal from the API: its problem details and the exit code it maps to. */
export class ApiError extends CliError {
  constructor(readonly problem: Problem) {
    super(exitCodeFor(problem.status), describeProblem(problem));
    this.name = 'ApiError';
  }
}

function describeProblem(p: Problem): string {
  const lines = [`${p.status} ${p.title ?? ''}: ${p.detail ?? p.code ?? 'error'}`.trim()];
  if (p.currentState) lines.push(`current state: ${p.currentState}`);
  for (const e of p.errors ?? []) lines.push(`  ${e.path || '(body)'}: ${e.message}`);
  return lines.join('\n');
}

/** The operator API over fetch: one place for the URL, the token and the exit codes. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  static from(options: ApiOptions): ApiClient {
    // Only the environment matters here: no config file is read (it may name secrets
    // this machine does not have).
    const { env } = loadConfig({ path: null });
    return new ApiClient(
      (options.url ?? env.WORKGATE_URL).replace(/\/+$/, ''),
      options.token ?? env.WORKGATE_TOKEN,
    );
  }

  /** `timeoutMs`: for a long poll, which the server holds longer than the default allows. */
  get<T>(path: string, query?: Query, timeoutMs = TIMEOUT_MS): Promise<T> {
    return this.request<T>('GET', path, query, undefined, timeoutMs);
  }

  /** Like post, with the HTTP status: 201 and 200 mean different things to a start. */
  postWithStatus<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
    return this.send<T>('POST', path, undefined, body);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, undefined, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(
    method: string,
    path: string,
    query?: Query,
    body?: unknown,
    timeoutMs = TIMEOUT_MS,
  ): Promise<T> {
    return (await this.send<T>(method, path, query, body, timeoutMs)).body;
  }

  private async send<T>(
    method: string,
    path: string,
    query?: Query,
    body?: unknown,
    timeoutMs = TIMEOUT_MS,
  ): Promise<{ status: number; body: T }> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      url.searchParams.set(key, Array.isArray(value) ? value.join(',') : String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new CliError(EXIT.unavailable, `Cannot reach the gateway at ${this.baseUrl}: ${cause}`);
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (res.ok) return { status: res.status, body: parsed as T };
    const problem: Problem =
      parsed && typeof parsed === 'object'
        ? { ...(parsed as Problem), status: res.status }
        : { status: res.status, title: res.statusText, detail: text.slice(0, 500) };
    if (res.status === 401 && !this.token)
      problem.detail = `${problem.detail ?? ''} (WORKGATE_TOKEN is not set; pass --token or export it)`;
    throw new ApiError(problem);
  }
}
