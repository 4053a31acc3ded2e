/**
 * Secrets that travel inside URLs, taken out of text that is recorded or logged (an
 * outbox row's lastError, a timeline entry, a step's error, a log line): a delivery
 * error usually quotes the URL it failed on, and for a Slack incoming webhook the URL
 * *is* the credential.
 */
export const REDACTED = '[redacted]';

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Query parameter names whose values are credentials. */
const SECRET_PARAM =
  /^(?:access[_-]?token|refresh[_-]?token|id[_-]?token|token|api[_-]?key|apikey|key|secret|client[_-]?secret|password|passwd|pwd|sig|signature|auth|authorization|code|session|sessionid|x-amz-signature|x-amz-credential|x-amz-security-token)$/i;

/** Hosts whose URL path is itself the secret (incoming webhooks): everything after the prefix goes. */
const SECRET_PATHS: ReadonlyArray<{ host: RegExp; prefix: RegExp }> = [
  { host: /^hooks\.slack\.com$/i, prefix: /^\/(?:services|workflows|triggers)\// },
  { host: /^(?:discord(?:app)?\.com)$/i, prefix: /^\/api\/webhooks\// },
  { host: /\.webhook\.office\.com$/i, prefix: /^\// },
];

function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(url);
  if (!m) return url;
  const [, scheme, authority = '', path = '', query, fragment = ''] = m;
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  const userinfo = at >= 0 ? `${REDACTED}@` : '';
  const hostname = host.replace(/:\d+$/, '');
  let safePath = path;
  for (const rule of SECRET_PATHS) {
    const prefix = rule.prefix.exec(path);
    if (rule.host.test(hostname) && prefix && path.length > prefix[0].length)
      safePath = `${prefix[0]}${REDACTED}`;
  }
  const safeQuery =
    query === undefined
      ? ''
      : `?${query
          .slice(1)
          .split('&')
          .map((pair) => {
            const eq = pair.indexOf('=');
            if (eq < 0) return pair;
            let name = pair.slice(0, eq);
            try {
              name = decodeURIComponent(name);
            } catch {
              // a malformed escape: judge the name as written
            }
            return SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
          })
          .join('&')}`;
  return `${scheme}${userinfo}${host}${safePath}${safeQuery}${fragment}`;
}

/** `text` with every URL's userinfo, secret query values and secret webhook paths replaced. */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrl);
}
