import { personKeyOf } from './person-memory';

describe(personKeyOf.name, () => {
  it.each([
    ['telegram', 'main', 'telegram:42', 'telegram:main:42'],
    ['slack', 'acme', 'slack:T0123:U0456', 'slack:acme:T0123:U0456'],
    // An actor id without its channel's prefix is taken whole.
    ['webhook', 'github', 'octocat', 'webhook:github:octocat'],
  ])('%s / %s / %s → %s', (channel, source, actor, key) => {
    expect(personKeyOf(channel, source, actor)).toBe(key);
  });
});
