import { createHmac } from 'node:crypto';
import { readPointer } from '@app/core';
import { StripeScheme } from './stripe.scheme';
import {
  loadSignatureFixtures,
  lowerCaseHeaders,
  negativeCase,
  signedBodyOf,
} from './signature-fixtures.testing';
import type { VerifyInput } from './webhook-scheme';

const fixtures = loadSignatureFixtures().stripe;
const example = fixtures.example;
const scheme = new StripeScheme();
const signedAt = Number(example.t);

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    headers: lowerCaseHeaders(example.headers),
    rawBody: signedBodyOf(example.body_from),
    secrets: [example.endpoint_secret],
    nowSeconds: example.now_for_tests,
    toleranceSeconds: example.tolerance_seconds,
    ...overrides,
  };
}

function withSignature(value: string | undefined): VerifyInput {
  return input({ headers: { ...lowerCaseHeaders(example.headers), 'stripe-signature': value } });
}

describe(StripeScheme.name, () => {
  describe('worked example (signatures.json stripe.example)', () => {
    it('signs the body the fixture file minifies to', () => {
      expect(signedBodyOf(example.body_from).toString('utf8')).toBe(example.body);
      expect(example.signed_payload).toBe(`${example.t}.${example.body}`);
    });

    it('verifies the delivery; the delivery id is left to the body pointer', () => {
      expect(scheme.verify(input())).toEqual({
        ok: true,
        deliveryId: undefined,
        timestamp: signedAt,
      });
    });

    it('points its default idempotency key at the event id in the body', () => {
      const { defaultIdempotency } = scheme;
      expect(defaultIdempotency).toEqual({ pointer: '/id' });
      expect(readPointer(JSON.parse(example.body), defaultIdempotency.pointer)).toBe(
        'evt_3FAKEworkgate0001',
      );
    });

    it('signs to exactly the expected header', () => {
      expect(
        scheme.sign({
          rawBody: Buffer.from(example.body, 'utf8'),
          secret: example.endpoint_secret,
          nowSeconds: signedAt,
        }),
      ).toEqual({ 'stripe-signature': example.headers['Stripe-Signature'] });
    });
  });

  describe('rotation (signatures.json stripe.rotation_example)', () => {
    const rotation = fixtures.rotation_example;

    it.each(rotation.accepts_with_secret)(
      'accepts a header with one v1 per secret when holding only %s',
      (secret) => {
        expect(
          scheme.verify({ ...withSignature(rotation.stripe_signature_header), secrets: [secret] }),
        ).toMatchObject({
          ok: true,
        });
      },
    );

    it('signs with the old secret to its expected v1', () => {
      const header = scheme.sign({
        rawBody: Buffer.from(example.body, 'utf8'),
        secret: rotation.old_endpoint_secret,
        nowSeconds: signedAt,
      })['stripe-signature'];
      expect(header).toBe(`t=${example.t},v1=${rotation.expected_v1_with_old_secret}`);
    });

    it('accepts when the second configured secret is the one that matches', () => {
      expect(
        scheme.verify(input({ secrets: [rotation.old_endpoint_secret, example.endpoint_secret] })),
      ).toMatchObject({
        ok: true,
      });
    });
  });

  describe('negative cases (signatures.json stripe.negative_cases)', () => {
    const cases = fixtures.negative_cases;

    it('does not key HMAC the Standard Webhooks way (prefix stripped)', () => {
      const c = negativeCase(cases, 'secret base64-decoded / prefix stripped');
      // The fixture's wrong_v1 is the "prefix stripped, used as UTF-8" variant of the mix-up.
      const stripped = example.endpoint_secret.slice('whsec_'.length);
      expect(createHmac('sha256', stripped).update(example.signed_payload).digest('hex')).toBe(
        c.wrong_v1,
      );
      expect(c.wrong_v1).not.toBe(example.expected_v1);
      expect(
        scheme.verify(withSignature(`t=${example.t},v1=${c.wrong_v1 as string}`)),
      ).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('does not accept a signature keyed with the base64-decoded secret either', () => {
      const decoded = Buffer.from(example.endpoint_secret.slice('whsec_'.length), 'base64');
      const v1 = createHmac('sha256', decoded).update(example.signed_payload).digest('hex');
      expect(scheme.verify(withSignature(`t=${example.t},v1=${v1}`))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects t 301 s older than now', () => {
      const c = negativeCase(cases, 't 301 s older');
      const result = scheme.verify(input({ nowSeconds: c.now as number }));
      expect(result).toMatchObject({ ok: false, code: 'timestamp_out_of_tolerance' });
      expect(result.ok || result.detail).toContain('301 s older');
    });

    it('rejects a header with only v0', () => {
      const c = negativeCase(cases, 'only v0 present');
      const result = scheme.verify(withSignature(c.stripe_signature_header as string));
      expect(result).toMatchObject({ ok: false, code: 'signature_missing' });
      expect(result.ok || result.detail).toMatch(/no v1 signature \(found "v0"\)/);
    });

    it('covers every negative case in the fixtures', () => {
      const covered = [
        'secret base64-decoded / prefix stripped',
        't 301 s older',
        'only v0 present',
      ];
      expect(cases.map((c) => covered.find((prefix) => c.case.startsWith(prefix)))).not.toContain(
        undefined,
      );
    });
  });

  describe('tolerance', () => {
    it.each([-300, -299, 0, 299, 300])('accepts now = t %+d s', (offset) => {
      expect(scheme.verify(input({ nowSeconds: signedAt + offset }))).toMatchObject({ ok: true });
    });

    it.each([-301, 301])('rejects now = t %+d s', (offset) => {
      expect(scheme.verify(input({ nowSeconds: signedAt + offset }))).toMatchObject({
        ok: false,
        code: 'timestamp_out_of_tolerance',
      });
    });

    it('judges the signature before t, so a forged stale delivery is "invalid", not "stale"', () => {
      const forged = withSignature(`t=${example.t},v1=${'0'.repeat(64)}`);
      expect(scheme.verify({ ...forged, nowSeconds: signedAt + 10_000 })).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });
  });

  describe('malformed headers never throw', () => {
    const v1 = example.expected_v1;

    it.each<[string, string | undefined, string, RegExp]>([
      ['absent', undefined, 'signature_missing', /absent/],
      ['empty', '', 'signature_missing', /empty/],
      ['only commas', ',,', 'signature_missing', /empty/],
      ['only t=', `t=${example.t}`, 'signature_missing', /no v1 signature; only v1/],
      ['missing t=', `v1=${v1}`, 'signature_invalid', /no t= timestamp/],
      ['t= twice', `t=${example.t},t=${example.t},v1=${v1}`, 'signature_invalid', /2 t= entries/],
      ['non-numeric t', `t=soon,v1=${v1}`, 'signature_invalid', /t="soon" is not an integer/],
      ['empty t', `t=,v1=${v1}`, 'signature_invalid', /not an integer/],
      ['item without =', `t=${example.t},v1`, 'signature_missing', /malformed item "v1"/],
      ['garbage hex', `t=${example.t},v1=xyz`, 'signature_invalid', /1 v1 entry, 1 not hex/],
      [
        'truncated v1',
        `t=${example.t},v1=${v1.slice(0, -2)}`,
        'signature_invalid',
        /no v1 signature matched/,
      ],
      ['empty v1', `t=${example.t},v1=`, 'signature_invalid', /not hex/],
    ])('%s', (_label, value, code, detail) => {
      const result = scheme.verify(withSignature(value));
      expect(result).toMatchObject({ ok: false, code });
      expect(result.ok || result.detail).toMatch(detail);
    });

    it('splits each item on the first "=" only', () => {
      // A value containing '=' stays whole; the matching v1 after it still counts.
      expect(scheme.verify(withSignature(`t=${example.t},x=a=b,v1=${v1}`))).toMatchObject({
        ok: true,
      });
    });

    it('tolerates spaces around items', () => {
      expect(scheme.verify(withSignature(`t=${example.t}, v1=${v1}`))).toMatchObject({ ok: true });
    });

    it('fails with no secrets configured', () => {
      expect(scheme.verify(input({ secrets: [] }))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });
  });
});
