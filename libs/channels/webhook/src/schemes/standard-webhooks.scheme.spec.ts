import { createHmac } from 'node:crypto';
import { StandardWebhooksScheme, standardWebhooksKey } from './standard-webhooks.scheme';
import { loadSignatureFixtures, negativeCase, readFixture } from './signature-fixtures.testing';
import type { VerifyInput } from './webhook-scheme';

const fixtures = loadSignatureFixtures().standard_webhooks;
const example = fixtures.example;
const scheme = new StandardWebhooksScheme();

function input(overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    headers: { ...example.headers },
    rawBody: Buffer.from(example.body, 'utf8'),
    secrets: [example.secret],
    nowSeconds: example.now_for_tests,
    toleranceSeconds: example.tolerance_seconds,
    ...overrides,
  };
}

function withHeaders(headers: Record<string, string | string[] | undefined>): VerifyInput {
  return input({ headers: { ...example.headers, ...headers } });
}

describe(StandardWebhooksScheme.name, () => {
  describe('worked example (signatures.json standard_webhooks.example)', () => {
    it('verifies the delivery and returns webhook-id as the delivery id', () => {
      expect(scheme.verify(input())).toEqual({
        ok: true,
        deliveryId: example.webhook_id,
        timestamp: Number(example.webhook_timestamp),
      });
    });

    it('signs to exactly the expected header', () => {
      const headers = scheme.sign({
        rawBody: Buffer.from(example.body, 'utf8'),
        secret: example.secret,
        nowSeconds: Number(example.webhook_timestamp),
        id: example.webhook_id,
      });
      expect(headers).toEqual({
        'webhook-id': example.webhook_id,
        'webhook-timestamp': example.webhook_timestamp,
        'webhook-signature': example.expected_signature,
      });
    });

    it('derives the key by base64-decoding the secret after whsec_', () => {
      expect(standardWebhooksKey(example.secret)?.toString('hex')).toBe(example.key_bytes_hex);
    });

    it('agrees with standard-webhooks/example.json', () => {
      const file = JSON.parse(readFixture('standard-webhooks/example.json'));
      expect(JSON.stringify(file.payload)).toBe(file.body);
      expect(
        scheme.verify(
          input({
            headers: file.headers,
            rawBody: Buffer.from(file.body, 'utf8'),
            secrets: [file.secret],
            nowSeconds: file.now_for_tests,
          }),
        ),
      ).toMatchObject({ ok: true, deliveryId: file.headers['webhook-id'] });
    });
  });

  describe('published vector (reference library "sign function works")', () => {
    const vector = fixtures.published_vector;
    const delivery: VerifyInput = {
      headers: {
        'webhook-id': vector.webhook_id,
        'webhook-timestamp': vector.webhook_timestamp,
        'webhook-signature': vector.expected_signature,
      },
      rawBody: Buffer.from(vector.body, 'utf8'),
      secrets: [vector.secret],
      nowSeconds: Number(vector.webhook_timestamp),
      toleranceSeconds: 300,
    };

    it('signs to the published signature', () => {
      const headers = scheme.sign({
        rawBody: delivery.rawBody,
        secret: vector.secret,
        nowSeconds: Number(vector.webhook_timestamp),
        id: vector.webhook_id,
      });
      expect(headers['webhook-signature']).toBe(vector.expected_signature);
    });

    it('verifies the published signature', () => {
      expect(scheme.verify(delivery)).toMatchObject({ ok: true, deliveryId: vector.webhook_id });
    });

    it('accepts the secret as bare base64 too, as the reference library does', () => {
      const bare = vector.secret.slice('whsec_'.length);
      expect(scheme.verify({ ...delivery, secrets: [bare] })).toMatchObject({ ok: true });
    });
  });

  describe('rotation (signatures.json standard_webhooks.rotation_example)', () => {
    const rotation = fixtures.rotation_example;
    const rotated = () => withHeaders({ 'webhook-signature': rotation.webhook_signature_header });

    it.each(rotation.accepts_with_secret)(
      'accepts a header signed with both secrets when holding only %s',
      (secret) => {
        expect(scheme.verify({ ...rotated(), secrets: [secret] })).toMatchObject({ ok: true });
      },
    );

    it('accepts when the second configured secret is the one that matches', () => {
      const unrelated = `whsec_${Buffer.from('some-other-key-that-signs-nothing').toString('base64')}`;
      expect(scheme.verify(input({ secrets: [unrelated, example.secret] }))).toMatchObject({
        ok: true,
      });
    });

    it('skips the v1a entry instead of failing on it', () => {
      const onlyOld = scheme.verify({ ...rotated(), secrets: [rotation.old_secret] });
      expect(onlyOld.ok).toBe(true);
    });
  });

  describe('negative cases (signatures.json standard_webhooks.negative_cases)', () => {
    const cases = fixtures.negative_cases;

    it('rejects a body changed by one byte', () => {
      const c = negativeCase(cases, 'body changed by one byte');
      expect(
        scheme.verify(input({ rawBody: Buffer.from(c.body as string, 'utf8') })),
      ).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects a changed webhook-id', () => {
      const c = negativeCase(cases, 'webhook-id changed');
      expect(scheme.verify(withHeaders({ 'webhook-id': c.webhook_id as string }))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('rejects a timestamp 301 s older than now', () => {
      const c = negativeCase(cases, 'timestamp 301 s older');
      const result = scheme.verify(input({ nowSeconds: c.now as number }));
      expect(result).toMatchObject({ ok: false, code: 'timestamp_out_of_tolerance' });
      expect(result.ok || result.detail).toContain('301 s older');
    });

    it('rejects a timestamp 301 s in the future', () => {
      const c = negativeCase(cases, 'timestamp 301 s in the future');
      const result = scheme.verify(input({ nowSeconds: c.now as number }));
      expect(result).toMatchObject({ ok: false, code: 'timestamp_out_of_tolerance' });
      expect(result.ok || result.detail).toContain('301 s ahead');
    });

    it('does not compute what a verifier keying HMAC with the raw UTF-8 secret computes', () => {
      const c = negativeCase(cases, 'secret used as raw UTF-8');
      const buggy = `v1,${createHmac('sha256', example.secret).update(example.signed_content).digest('base64')}`;
      expect(buggy).toBe(c.wrong_signature);
      expect(c.wrong_signature).not.toBe(example.expected_signature);
      expect(
        scheme.verify(withHeaders({ 'webhook-signature': c.wrong_signature as string })),
      ).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('covers every negative case in the fixtures', () => {
      const covered = [
        'body changed by one byte',
        'webhook-id changed',
        'timestamp 301 s older',
        'timestamp 301 s in the future',
        'secret used as raw UTF-8',
      ];
      expect(cases.map((c) => covered.find((prefix) => c.case.startsWith(prefix)))).not.toContain(
        undefined,
      );
    });
  });

  describe('tolerance', () => {
    const signedAt = Number(example.webhook_timestamp);

    it.each([-300, -299, 0, 299, 300])('accepts now = timestamp %+d s', (offset) => {
      expect(scheme.verify(input({ nowSeconds: signedAt + offset }))).toMatchObject({ ok: true });
    });

    it.each([-301, 301, -86_400, 86_400])('rejects now = timestamp %+d s', (offset) => {
      expect(scheme.verify(input({ nowSeconds: signedAt + offset }))).toMatchObject({
        ok: false,
        code: 'timestamp_out_of_tolerance',
      });
    });

    it('judges the signature before the timestamp, so a forged stale delivery is "invalid", not "stale"', () => {
      const forged = withHeaders({
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      });
      expect(scheme.verify({ ...forged, nowSeconds: signedAt + 10_000 })).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });
  });

  describe('malformed or missing headers never throw', () => {
    const signature = example.expected_signature.slice('v1,'.length);

    it.each<[string, Record<string, string | string[] | undefined>, string, RegExp]>([
      [
        'signature header absent',
        { 'webhook-signature': undefined },
        'signature_missing',
        /absent/,
      ],
      ['signature header empty', { 'webhook-signature': '' }, 'signature_missing', /empty/],
      [
        'signature header only spaces',
        { 'webhook-signature': '   ' },
        'signature_missing',
        /empty/,
      ],
      [
        'only v1a entries',
        { 'webhook-signature': `v1a,${signature}` },
        'signature_missing',
        /no v1 entry.*"v1a"/,
      ],
      [
        'unknown version only',
        { 'webhook-signature': `v2,${signature}` },
        'signature_missing',
        /no v1 entry.*"v2"/,
      ],
      [
        'entry without a comma',
        { 'webhook-signature': signature },
        'signature_missing',
        /malformed entry/,
      ],
      [
        'garbage base64',
        { 'webhook-signature': 'v1,!!not*base64!!' },
        'signature_invalid',
        /1 v1 entry not valid base64/,
      ],
      [
        'truncated signature',
        { 'webhook-signature': `v1,${signature.slice(0, -4)}` },
        'signature_invalid',
        /no v1 signature matched/,
      ],
      [
        'empty v1 signature',
        { 'webhook-signature': 'v1,' },
        'signature_invalid',
        /not valid base64/,
      ],
      [
        'webhook-id absent',
        { 'webhook-id': undefined },
        'signature_invalid',
        /webhook-id header is absent/,
      ],
      ['webhook-id empty', { 'webhook-id': '' }, 'signature_invalid', /webhook-id header is empty/],
      [
        'webhook-timestamp absent',
        { 'webhook-timestamp': undefined },
        'signature_invalid',
        /webhook-timestamp header is absent/,
      ],
      [
        'webhook-timestamp not numeric',
        { 'webhook-timestamp': 'yesterday' },
        'signature_invalid',
        /"yesterday" is not an integer/,
      ],
      [
        'webhook-timestamp fractional',
        { 'webhook-timestamp': '1767226200.5' },
        'signature_invalid',
        /not an integer/,
      ],
      [
        'webhook-timestamp negative',
        { 'webhook-timestamp': '-1767226200' },
        'signature_invalid',
        /not an integer/,
      ],
      [
        'signature header repeated',
        { 'webhook-signature': [example.expected_signature, example.expected_signature] },
        'signature_invalid',
        /sent 2 times/,
      ],
    ])('%s', (_label, headers, code, detail) => {
      const result = scheme.verify(withHeaders(headers));
      expect(result).toMatchObject({ ok: false, code });
      expect(result.ok || result.detail).toMatch(detail);
    });

    it('finds the matching entry among garbage ones', () => {
      const header = `v1,%%% v1a,xyz v1,${Buffer.alloc(32).toString('base64')} ${example.expected_signature}`;
      expect(scheme.verify(withHeaders({ 'webhook-signature': header }))).toMatchObject({
        ok: true,
      });
    });

    it('reports a configured secret that is not base64 instead of throwing', () => {
      const result = scheme.verify(input({ secrets: ['whsec_***'] }));
      expect(result).toMatchObject({ ok: false, code: 'signature_invalid' });
      expect(result.ok || result.detail).toMatch(/no usable secret.*#1/);
    });

    it('still verifies with a good secret next to an unusable one', () => {
      expect(scheme.verify(input({ secrets: ['whsec_***', example.secret] }))).toMatchObject({
        ok: true,
      });
    });

    it('fails with no secrets configured', () => {
      expect(scheme.verify(input({ secrets: [] }))).toMatchObject({
        ok: false,
        code: 'signature_invalid',
      });
    });

    it('signs over the header bytes as sent, which Node hands over latin1-decoded', () => {
      const id = 'msg_é_東京';
      const timestamp = example.webhook_timestamp;
      const key = standardWebhooksKey(example.secret)!;
      const mac = createHmac('sha256', key)
        .update(Buffer.from(`${id}.${timestamp}.`, 'utf8'))
        .update(example.body)
        .digest('base64');
      const asNodeSeesIt = Buffer.from(id, 'utf8').toString('latin1');
      const result = scheme.verify(
        withHeaders({ 'webhook-id': asNodeSeesIt, 'webhook-signature': `v1,${mac}` }),
      );
      expect(result).toMatchObject({ ok: true, deliveryId: asNodeSeesIt });
    });

    it('reads mixed-case header names from a hand-built map', () => {
      const headers = {
        'Webhook-Id': example.webhook_id,
        'Webhook-Timestamp': example.webhook_timestamp,
        'Webhook-Signature': example.expected_signature,
      };
      expect(scheme.verify(input({ headers }))).toMatchObject({ ok: true });
    });
  });

  describe('sign', () => {
    it('refuses a secret that is not base64', () => {
      expect(() =>
        scheme.sign({ rawBody: Buffer.from('{}'), secret: 'whsec_***', nowSeconds: 1 }),
      ).toThrow(TypeError);
    });

    it('makes up a msg_ id when none is given', () => {
      const headers = scheme.sign({
        rawBody: Buffer.from('{}'),
        secret: example.secret,
        nowSeconds: 1767226200,
      });
      expect(headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/);
    });

    it('writes whole seconds', () => {
      const headers = scheme.sign({
        rawBody: Buffer.from('{}'),
        secret: example.secret,
        nowSeconds: 1767226200.9,
      });
      expect(headers['webhook-timestamp']).toBe('1767226200');
    });
  });
});
