import { interpolateEnv } from './interpolate.util';

describe(interpolateEnv.name, () => {
  it('takes own environment variables only: ${constructor} is unset, not Object', () => {
    const missing: string[] = [];
    const out = interpolateEnv(
      { a: '${constructor}', b: '${toString:-fallback}', c: '${HOME_X}' },
      { HOME_X: '/x' },
      '',
      missing,
    );
    expect(out).toEqual({ a: '', b: 'fallback', c: '/x' });
    expect(missing).toEqual(['constructor (at /a)']);
  });
});
