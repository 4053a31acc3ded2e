import { REDACTED, redactSecrets } from './redact-secrets.util';

describe(redactSecrets.name, () => {
  it.each([
    [
      'POST https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx failed: 404',
      `POST https://hooks.slack.com/services/${REDACTED} failed: 404`,
    ],
    [
      'connect ECONNREFUSED for https://alice:s3cr3t@example.com:8443/path?x=1',
      `connect ECONNREFUSED for https://${REDACTED}@example.com:8443/path?x=1`,
    ],
    [
      'https://api.example.com/v1/send?chat=42&access_token=abc.def&api_key=zzz#frag',
      `https://api.example.com/v1/send?chat=42&access_token=${REDACTED}&api_key=${REDACTED}#frag`,
    ],
    [
      'redis://:password@10.0.0.1:6379/0 unreachable',
      `redis://${REDACTED}@10.0.0.1:6379/0 unreachable`,
    ],
    [
      '"https://discord.com/api/webhooks/123/tok-en" answered 401',
      `"https://discord.com/api/webhooks/${REDACTED}" answered 401`,
    ],
    [
      'https://example.com/hooks/a?Token=1&sig=2',
      `https://example.com/hooks/a?Token=${REDACTED}&sig=${REDACTED}`,
    ],
  ])('redacts %s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it.each([
    'plain text without a URL',
    'https://example.com/path?page=2&q=hello',
    'https://hooks.slack.com/services/',
    'see http://127.0.0.1:3000/health',
  ])('leaves %s alone', (input) => {
    expect(redactSecrets(input)).toBe(input);
  });

  it('is idempotent', () => {
    const once = redactSecrets('https://u:p@hooks.slack.com/services/T/B/x?token=1');
    expect(redactSecrets(once)).toBe(once);
    expect(once).not.toMatch(/u:p|\/T\/B\/x|token=1/);
  });
});
