import fc from 'fast-check';
import type { WebhookScheme } from '@app/config';
import { SCHEMES, type WebhookSchemeName, type WebhookSchemeVerifier } from './index';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// Fails to compile if the config's scheme list and the verifiers drift apart.
const sameSchemeNames: Equal<WebhookScheme, WebhookSchemeName> = true;

type SignedName = Exclude<WebhookSchemeName, 'none'>;

/** The header carrying the signature, and how to cut its last two characters off. */
const signatureHeader: Record<SignedName, string> = {
  'standard-webhooks': 'webhook-signature',
  github: 'x-hub-signature-256',
  stripe: 'stripe-signature',
};

/** A secret of the shape each scheme expects: Standard Webhooks keys are base64 bytes, the others are any text. */
const secretArbitrary: Record<SignedName, fc.Arbitrary<string>> = {
  'standard-webhooks': fc
    .uint8Array({ minLength: 24, maxLength: 64 })
    .map((bytes) => `whsec_${Buffer.from(bytes).toString('base64')}`),
  github: fc.string({ minLength: 1, maxLength: 64, unit: 'binary' }),
  stripe: fc.string({ minLength: 1, maxLength: 64, unit: 'binary' }).map((s) => `whsec_${s}`),
};

const exampleSecret: Record<SignedName, string> = {
  'standard-webhooks': 'whsec_d29ya2dhdGUtZml4dHVyZS1URVNULU9OTFkta2V5LTE=',
  github: 'workgate-github-TEST-ONLY-secret',
  stripe: 'whsec_TESTONLYworkgateFixtureSecret00000001',
};

const NOW = 1767226200;
const signedNames = Object.keys(signatureHeader) as SignedName[];

function deliver(
  scheme: WebhookSchemeVerifier,
  rawBody: Buffer,
  secret: string,
  secrets: string[] = [secret],
) {
  const headers = scheme.sign({ rawBody, secret, nowSeconds: NOW, id: 'msg_fixed_0001' });
  return (body: Buffer = rawBody, overrides: Record<string, string> = {}) =>
    scheme.verify({
      headers: { ...headers, ...overrides },
      rawBody: body,
      secrets,
      nowSeconds: NOW,
      toleranceSeconds: 300,
    });
}

describe('SCHEMES', () => {
  it('has one verifier per configurable scheme, under its own name', () => {
    expect(sameSchemeNames).toBe(true);
    expect(Object.keys(SCHEMES).sort()).toEqual(['github', 'none', 'standard-webhooks', 'stripe']);
    for (const [name, scheme] of Object.entries(SCHEMES)) expect(scheme.name).toBe(name);
  });

  it('says where each scheme keeps its idempotency key', () => {
    expect(SCHEMES['standard-webhooks'].defaultIdempotency).toEqual({ header: 'webhook-id' });
    expect(SCHEMES.github.defaultIdempotency).toEqual({ header: 'x-github-delivery' });
    expect(SCHEMES.stripe.defaultIdempotency).toEqual({ pointer: '/id' });
    expect(SCHEMES.none.defaultIdempotency).toBeUndefined();
  });

  describe.each(signedNames)('%s', (name) => {
    const scheme = SCHEMES[name];
    const secret = exampleSecret[name];
    const body = Buffer.from('{"type":"work.completed","data":{"work_id":"wk_fake_0001"}}', 'utf8');

    it('verifies what it signs, with the id it was given where the scheme has one', () => {
      const result = deliver(scheme, body, secret)();
      expect(result).toMatchObject({ ok: true });
      if (name !== 'stripe') expect(result).toMatchObject({ deliveryId: 'msg_fixed_0001' });
    });

    it('accepts when the second of two configured secrets signed it (rotation)', () => {
      const other =
        name === 'standard-webhooks'
          ? `whsec_${Buffer.alloc(32, 7).toString('base64')}`
          : 'whsec_other';
      expect(deliver(scheme, body, secret, [other, secret])()).toMatchObject({ ok: true });
    });

    it('rejects a body with one byte changed', () => {
      const tampered = Buffer.from(body);
      tampered[10] = tampered[10]! ^ 0x01;
      expect(deliver(scheme, body, secret)(tampered)).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects a body with one byte added or removed', () => {
      const verify = deliver(scheme, body, secret);
      expect(verify(Buffer.concat([body, Buffer.from('\n')]))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
      expect(verify(body.subarray(0, -1))).toMatchObject({ ok: false, code: 'signature_invalid' });
    });

    it('rejects a truncated signature', () => {
      const headers = scheme.sign({ rawBody: body, secret, nowSeconds: NOW, id: 'msg_fixed_0001' });
      const header = signatureHeader[name];
      const truncated = headers[header]!.slice(0, -2);
      expect(deliver(scheme, body, secret)(body, { [header]: truncated })).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects a wrong secret', () => {
      const wrong =
        name === 'standard-webhooks'
          ? `whsec_${Buffer.alloc(32, 9).toString('base64')}`
          : `${secret}x`;
      expect(deliver(scheme, body, secret, [wrong])()).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    describe('unicode bodies are verified over their exact bytes', () => {
      // U+D800 written as the 3 bytes a WTF-8 encoder produces: not valid UTF-8, so any
      // decode/re-encode turns it into U+FFFD and the signature must stop matching.
      const loneSurrogate = Buffer.concat([
        Buffer.from('{"s":"'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ]);
      const bodies: [string, Buffer][] = [
        ['multi-byte UTF-8', Buffer.from('{"text":"naïve café — 東京 ✓ Ωmega"}', 'utf8')],
        ['emoji with modifiers and ZWJ', Buffer.from('{"emoji":"🚀👍🏽👨‍👩‍👧"}', 'utf8')],
        ['a byte-order mark', Buffer.from('\uFEFF{"a":1}', 'utf8')],
        ['a lone surrogate as bytes', loneSurrogate],
      ];

      it.each(bodies)('%s', (_label, rawBody) => {
        const verify = deliver(scheme, rawBody, secret);
        expect(verify()).toMatchObject({ ok: true });
        expect(verify(Buffer.from(rawBody))).toMatchObject({ ok: true });
      });

      it('fails once the lone surrogate has been through a string', () => {
        const reencoded = Buffer.from(loneSurrogate.toString('utf8'), 'utf8');
        expect(reencoded.equals(loneSurrogate)).toBe(false);
        expect(deliver(scheme, loneSurrogate, secret)(reencoded)).toMatchObject({
          ok: false,
          code: 'signature_invalid',
        });
      });

      it('fails on re-serialised JSON', () => {
        const spaced = Buffer.from('{ "text": "東京" }', 'utf8');
        const reserialised = Buffer.from(
          JSON.stringify(JSON.parse(spaced.toString('utf8'))),
          'utf8',
        );
        expect(deliver(scheme, spaced, secret)(reserialised)).toMatchObject({
          ok: false,
          code: 'signature_invalid',
        });
      });
    });

    it('property: sign then verify passes for any body and secret; flipping any body byte fails', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 2048 }),
          secretArbitrary[name],
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (bytes, randomSecret, position, mask) => {
            const rawBody = Buffer.from(bytes);
            const verify = deliver(scheme, rawBody, randomSecret);
            expect(verify()).toMatchObject({ ok: true });
            const flipped = Buffer.from(rawBody);
            const index = position % flipped.length;
            flipped[index] = flipped[index]! ^ mask;
            expect(verify(flipped)).toMatchObject({ ok: false, code: 'signature_invalid' });
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
