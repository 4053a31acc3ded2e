// The operator API client and the signed-in session. The token lives in
// sessionStorage: as long as the tab, and never sent anywhere but this gateway.

const TOKEN_KEY = 'workgate.token';

/** Who is signed in: the token, and the session the gateway answered for it. */
export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  /** `{ name, role }` from GET /dashboard/session, once checked. */
  user: null,
};

export const isOperator = () => session.user?.role === 'operator';

let onRefused = () => undefined;

/** What to do when the gateway refuses the stored token (the shell signs out). */
export function whenTokenRefused(handler) {
  onRefused = handler;
}

export function signIn(token, user) {
  sessionStorage.setItem(TOKEN_KEY, token);
  session.token = token;
  session.user = user;
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.user = null;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? (status ? `HTTP ${status}` : 'The gateway is unreachable.'));
    this.status = status;
    this.problem = problem;
  }
}

/** A JSON request to this gateway with the operator's token; a non-2xx throws ApiError. */
export async function api(path, { method = 'GET', body, token = session.token } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, undefined);
  }
  const text = await res.text();
  let payload;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    payload = { detail: text.slice(0, 200) };
  }
  if (res.status === 401 && token === session.token && session.token) {
    onRefused('The gateway refused the token (unknown or revoked). Sign in again.');
  }
  if (!res.ok) throw new ApiError(res.status, payload);
  return payload;
}

/** A problem+json answer in one line: its detail, the current state, the fields refused. */
export function problemText(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  const problem = err.problem ?? {};
  const parts = [problem.detail ?? err.message];
  if (problem.currentState) parts.push(`(current state: ${problem.currentState})`);
  if (Array.isArray(problem.errors))
    parts.push(problem.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`).join('; '));
  return parts.join(' ');
}
