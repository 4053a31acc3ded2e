import { fileConfigSchema } from './config.schema';
import { retentionConfigSchema } from './retention.schema';

describe('retention config', () => {
  it('is off by default, with dedupe windows at or above each provider floor', () => {
    const config = retentionConfigSchema.parse(undefined);
    expect(config.after).toBeUndefined();
    expect(config.dedupe).toEqual({
      telegram: 2 * 86_400_000,
      slack: 86_400_000,
      webhook: 7 * 86_400_000,
      other: 7 * 86_400_000,
    });
  });

  it('parses durations', () => {
    const config = retentionConfigSchema.parse({ after: '30d', dedupe: { webhook: '3d' } });
    expect(config.after).toBe(30 * 86_400_000);
    expect(config.dedupe.webhook).toBe(3 * 86_400_000);
  });

  it.each([
    ['telegram', '12h', /shorter than 24h: Telegram/],
    ['slack', '30m', /shorter than 1h: Slack/],
    ['webhook', '10m', /shorter than 1h/],
    ['other', '1s', /shorter than 1h/],
  ])('refuses a %s window of %s (below what the provider retries)', (channel, value, message) => {
    const result = retentionConfigSchema.safeParse({ dedupe: { [channel]: value } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(message);
    expect(result.error?.issues[0]?.path).toEqual(['dedupe', channel]);
  });

  it('refuses a zero or unreadable age', () => {
    expect(retentionConfigSchema.safeParse({ after: 0 }).success).toBe(false);
    expect(retentionConfigSchema.safeParse({ after: 'a month' }).success).toBe(false);
    expect(retentionConfigSchema.safeParse({ surprise: true }).success).toBe(false);
  });

  it('is the `retention` block of the config file', () => {
    expect(fileConfigSchema.parse({}).retention.after).toBeUndefined();
    const refused = fileConfigSchema.safeParse({ retention: { dedupe: { telegram: '1h' } } });
    expect(refused.error?.issues[0]?.path).toEqual(['retention', 'dedupe', 'telegram']);
  });
});
