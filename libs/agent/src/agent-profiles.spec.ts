import { agentConfigSchema } from '@app/config';
import { type WorkOrigin } from '@app/engine';
import { chooseProfile, profileSettings } from './agent-profiles';

const config = agentConfigSchema.parse({
  apiKey: 'sk-test',
  model: 'base-model',
  system: 'base system',
  budget: { turns: 5, costUsd: 1 },
  memory: { enabled: true },
  profiles: {
    research: { model: 'r-model', budget: { turns: 9 }, memory: { maxLength: 500 }, command: true },
    ops: { model: 'ops-model' },
    quiet: { memory: { enabled: false } },
  },
  profileRoutes: [
    { channel: 'telegram', source: 'main', chat: -100123, profile: 'ops' },
    { source: 'helpdesk', profile: 'quiet' },
    { channel: 'telegram', source: 'main', chat: '555', profile: 'default' },
    { channel: 'telegram', source: 'main', profile: 'research' },
  ],
});

const origin = (channel: string, target: string | null): WorkOrigin => ({
  channel,
  conversationKey: null,
  eventId: null,
  address: target ? { channel, target } : null,
});

describe(chooseProfile.name, () => {
  it.each([
    ['a routed chat', origin('telegram', 'main:-100123'), 'hi', 'ops'],
    ['a routed chat in a topic', origin('telegram', 'main:-100123:7'), 'hi', 'ops'],
    ['a routed workspace', origin('slack', 'helpdesk:C0123'), 'hi', 'quiet'],
    ['an earlier line naming default', origin('telegram', 'main:555'), 'hi', 'default'],
    ['a routed bot', origin('telegram', 'main:42'), 'hi', 'research'],
    ['nothing routed', origin('telegram', 'other:42'), 'hi', 'default'],
    ['an API start', origin('api', null), 'hi', 'default'],
    ['a command, over the route', origin('telegram', 'other:42'), '/ask_research x', 'research'],
    ['a command for a bot', origin('telegram', 'x:1'), '/ask_research@my_bot x', 'research'],
    ['a command in Slack', origin('slack', 'w:C1'), 'ask_research x', 'research'],
    ['a profile without command', origin('telegram', 'other:1'), '/ask_ops x', 'default'],
    ['an unknown profile', origin('telegram', 'other:1'), '/ask_nope x', 'default'],
    ['not at the start', origin('telegram', 'other:1'), 'please /ask_research', 'default'],
  ])('%s → %s', (_what, where, text, name) => {
    expect(chooseProfile(config, where, text).name).toBe(name);
  });

  it('removes the command from the first message, keeping a bare one whole', () => {
    expect(chooseProfile(config, origin('telegram', 'x:1'), '/ask_research  what is x').text).toBe(
      'what is x',
    );
    expect(chooseProfile(config, origin('telegram', 'x:1'), '/ask_research').text).toBe(
      '/ask_research',
    );
    expect(chooseProfile(config, origin('telegram', 'x:1'), '/ask_ops y').text).toBe('/ask_ops y');
  });
});

describe(profileSettings.name, () => {
  it('lays the profile over the top-level settings, field by field', () => {
    const research = profileSettings(config, 'research');
    expect(research).toMatchObject({
      model: 'r-model',
      system: 'base system',
      budget: { turns: 9, costUsd: 1 },
      memory: { enabled: true, maxLength: 500 },
    });
    expect(profileSettings(config, 'quiet').memory).toEqual({ enabled: false, maxLength: 2000 });
  });

  it('is the top-level settings for default, and one object per profile', () => {
    expect(profileSettings(config, 'default')).toBe(config);
    expect(profileSettings(config, 'ops')).toBe(profileSettings(config, 'ops'));
  });
});

describe('agent.profileRoutes', () => {
  it('refuses a route to a profile that does not exist', () => {
    const parsed = agentConfigSchema.safeParse({
      apiKey: 'k',
      model: 'm',
      profileRoutes: [{ source: 'main', profile: 'nope' }],
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['profileRoutes', 0, 'profile'],
      message: expect.stringContaining('no profile "nope"'),
    });
  });

  it('refuses a profile called default', () => {
    const parsed = agentConfigSchema.safeParse({
      apiKey: 'k',
      model: 'm',
      profiles: { default: { model: 'x' } },
    });
    expect(parsed.success).toBe(false);
  });
});
