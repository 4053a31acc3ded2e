import { createHash } from 'node:crypto';
import { GithubScheme } from './github.scheme';
import {
  loadSignatureFixtures,
  lowerCaseHeaders,
  negativeCase,
  readFixture,
  signedBodyOf,
} from './signature-fixtures.testing';
import type { VerifyInput } from './webhook-scheme';

const fixtures = loadSignatureFixtures().github;
const example = fixtures.example;
const deliveryHeaders = lowerCaseHeaders(
  (JSON.parse(readFixture(example.headers_file)) as { headers: Record<string, string> }).headers,
);
const scheme = new GithubScheme();

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    headers: { ...deliveryHeaders },
    rawBody: signedBodyOf(example.body_from),
    secrets: [example.secret],
    nowSeconds: 1767226000,
    toleranceSeconds: 300,
    ...overrides,
  };
}

function withHeaders(headers: Record<string, string | undefined>): VerifyInput {
  return input({ headers: { ...deliveryHeaders, ...headers } });
}

describe(GithubScheme.name, () => {
  describe('worked example (signatures.json github.example + github/headers.json)', () => {
    it('signs the body the fixture file minifies to', () => {
      const body = signedBodyOf(example.body_from);
      expect(body.toString('utf8')).toBe(example.body);
      expect(body.length).toBe(example.body_length_bytes);
      expect(createHash('sha256').update(body).digest('hex')).toBe(example.body_sha256);
    });

    it('verifies the delivery and returns X-GitHub-Delivery as the delivery id, with no timestamp', () => {
      const result = scheme.verify(input());
      expect(result).toEqual({ ok: true, deliveryId: deliveryHeaders['x-github-delivery'] });
      expect(result).not.toHaveProperty('timestamp');
    });

    it('signs to exactly the expected header', () => {
      const headers = scheme.sign({
        rawBody: signedBodyOf(example.body_from),
        secret: example.secret,
        nowSeconds: 0,
        id: deliveryHeaders['x-github-delivery'],
      });
      expect(headers).toEqual({
        'x-hub-signature-256': example.expected_x_hub_signature_256,
        'x-github-delivery': deliveryHeaders['x-github-delivery'],
      });
    });

    it('has no replay window: any clock passes', () => {
      expect(scheme.verify(input({ nowSeconds: 0 }))).toMatchObject({ ok: true });
      expect(scheme.verify(input({ nowSeconds: 4_000_000_000 }))).toMatchObject({ ok: true });
    });

    it('leaves the delivery id undefined when X-GitHub-Delivery is absent', () => {
      expect(scheme.verify(withHeaders({ 'x-github-delivery': undefined }))).toEqual({
        ok: true,
        deliveryId: undefined,
      });
    });
  });

  describe('published vector (docs.github.com "Validating webhook deliveries")', () => {
    const vector = fixtures.published_vector;

    it('signs and verifies "Hello, World!"', () => {
      const rawBody = Buffer.from(vector.body, 'utf8');
      expect(
        scheme.sign({ rawBody, secret: vector.secret, nowSeconds: 0 })['x-hub-signature-256'],
      ).toBe(vector.expected_x_hub_signature_256);
      expect(
        scheme.verify({
          headers: { 'x-hub-signature-256': vector.expected_x_hub_signature_256 },
          rawBody,
          secrets: [vector.secret],
          nowSeconds: 0,
          toleranceSeconds: 300,
        }),
      ).toEqual({ ok: true, deliveryId: undefined });
    });
  });

  describe('rotation', () => {
    it('accepts when the second configured secret is the one that matches', () => {
      expect(scheme.verify(input({ secrets: ['previous-secret', example.secret] }))).toMatchObject({
        ok: true,
      });
    });
  });

  describe('negative cases (signatures.json github.negative_cases)', () => {
    const cases = fixtures.negative_cases;

    it('rejects when the secret differs', () => {
      const c = negativeCase(cases, 'header present but secret differs');
      expect(scheme.verify(input({ secrets: [c.secret as string] }))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects a missing header although a secret is configured, and names the legacy SHA-1 header', () => {
      negativeCase(cases, 'header missing');
      const result = scheme.verify(withHeaders({ 'x-hub-signature-256': undefined }));
      expect(result).toMatchObject({ ok: false, code: 'signature_missing' });
      expect(result.ok || result.detail).toMatch(/legacy SHA-1/);
    });

    it('covers every negative case in the fixtures', () => {
      const covered = ['header present but secret differs', 'header missing'];
      expect(cases.map((c) => covered.find((prefix) => c.case.startsWith(prefix)))).not.toContain(
        undefined,
      );
    });
  });

  describe('malformed headers never throw', () => {
    const hex = example.expected_x_hub_signature_256.slice('sha256='.length);

    it.each<[string, string | undefined, string, RegExp]>([
      ['absent with no legacy header either', undefined, 'signature_missing', /is a secret set/],
      [
        'sha1 prefix in the sha256 header',
        `sha1=${hex}`,
        'signature_invalid',
        /does not start with "sha256="/,
      ],
      ['upper-case prefix', `SHA256=${hex}`, 'signature_invalid', /does not start/],
      ['bare hex', hex, 'signature_invalid', /does not start/],
      ['non-hex digest', `sha256=${'z'.repeat(64)}`, 'signature_invalid', /not sha256=<hex>/],
      [
        'odd number of hex digits',
        `sha256=${hex.slice(0, -1)}`,
        'signature_invalid',
        /not sha256=<hex>/,
      ],
      ['empty digest', 'sha256=', 'signature_invalid', /not sha256=<hex>/],
      ['truncated digest', `sha256=${hex.slice(0, -2)}`, 'signature_invalid', /matched none/],
      ['empty header', '', 'signature_invalid', /does not start/],
    ])('%s', (_label, value, code, detail) => {
      const headers =
        value === undefined
          ? { 'x-hub-signature-256': undefined, 'x-hub-signature': undefined }
          : { 'x-hub-signature-256': value };
      const result = scheme.verify(withHeaders(headers));
      expect(result).toMatchObject({ ok: false, code });
      expect(result.ok || result.detail).toMatch(detail);
    });

    it('fails with no secrets configured', () => {
      expect(scheme.verify(input({ secrets: [] }))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });
  });
});
