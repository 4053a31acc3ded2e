import fc from 'fast-check';
import { signButtonToken, verifyButtonToken } from './button-token';

describe('button tokens', () => {
  const secret = 'test-secret';

  it('round-trips and fits in Telegram callback_data (64 bytes)', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('answer' as const, 'pick' as const),
        (id, choice, kind) => {
          const token =
            kind === 'answer' ? { kind, waitId: id, choice } : { kind, workId: id, choice };
          const text = signButtonToken(token, secret);
          expect(Buffer.byteLength(text)).toBeLessThanOrEqual(64);
          expect(verifyButtonToken(text, [secret])).toEqual(token);
        },
      ),
    );
  });

  it('refuses a forged, altered or foreign token', () => {
    const text = signButtonToken(
      { kind: 'answer', waitId: '01890000-0000-7000-8000-000000000001', choice: 1 },
      secret,
    );
    expect(verifyButtonToken(text, ['another-secret'])).toBeNull();
    const flipped = text.slice(0, 5) + (text[5] === 'A' ? 'B' : 'A') + text.slice(6);
    expect(verifyButtonToken(flipped, [secret])).toBeNull();
    expect(verifyButtonToken('yes', [secret])).toBeNull();
    expect(verifyButtonToken('', [secret])).toBeNull();
  });

  it('accepts any of several secrets (rotation)', () => {
    const text = signButtonToken(
      { kind: 'pick', workId: '01890000-0000-7000-8000-000000000002', choice: 0 },
      'old',
    );
    expect(verifyButtonToken(text, ['new', 'old'])).toMatchObject({ kind: 'pick', choice: 0 });
  });

  it('refuses to sign without a secret (no provisioned secret is never an empty key)', () => {
    const token = {
      kind: 'answer',
      waitId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
      choice: 0,
    } as const;
    expect(() => signButtonToken(token, '')).toThrow(/No button secret/);
    expect(() => signButtonToken(token, [][0]!)).toThrow(/No button secret/);
  });
});
