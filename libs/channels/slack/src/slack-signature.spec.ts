import { ErrorCode, WorkgateError } from '@app/core';
import { lowerCaseHeaders, slackSignatures } from './slack-fixtures.testing';
import { signSlackRequest, verifySlackSignature } from './slack-signature';

const fx = slackSignatures();
const events = fx.events_example;

function codeOf(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof WorkgateError) return err.code;
    throw err;
  }
}

function verifyEvents(overrides: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) {
  return verifySlackSignature({
    headers: lowerCaseHeaders(events.headers),
    rawBody: Buffer.from(events.body, 'utf8'),
    secrets: [events.signing_secret],
    nowSeconds: events.now_for_tests,
    ...overrides,
  });
}

describe('Slack request signatures', () => {
  describe('worked examples (signatures.json slack.*)', () => {
    it('verifies the Events API example and names the secret that signed it', () => {
      expect(verifyEvents({ secrets: ['another-app-secret', events.signing_secret] })).toBe(
        events.signing_secret,
      );
    });

    it('verifies the retry of the same event (its own timestamp and signature)', () => {
      const retry = fx.events_retry_example;
      expect(
        verifySlackSignature({
          headers: lowerCaseHeaders(retry.headers),
          rawBody: Buffer.from(retry.body, 'utf8'),
          secrets: [events.signing_secret],
          nowSeconds: Number(retry.timestamp) + 1,
        }),
      ).toBe(events.signing_secret);
    });

    it('verifies the interactivity example over the form-encoded bytes', () => {
      const ex = fx.interactivity_example;
      expect(
        verifySlackSignature({
          headers: lowerCaseHeaders(ex.headers),
          rawBody: Buffer.from(ex.body, 'utf8'),
          secrets: [ex.signing_secret],
          nowSeconds: ex.now_for_tests,
        }),
      ).toBe(ex.signing_secret);
    });

    it("reproduces Slack's own published vector and every example's signature", () => {
      const v = fx.published_vector;
      expect(signSlackRequest(v.body, v.signing_secret, Number(v.timestamp))).toEqual({
        'x-slack-request-timestamp': v.timestamp,
        'x-slack-signature': v.expected_signature,
      });
      for (const ex of [events, fx.interactivity_example]) {
        expect(
          signSlackRequest(ex.body, ex.signing_secret, Number(ex.timestamp))['x-slack-signature'],
        ).toBe(ex.expected_signature);
      }
    });
  });

  describe('timestamp window: 5 minutes in either direction', () => {
    const at = Number(events.timestamp);

    it.each([
      ['exactly 300 s old', at + 300, 'ok'],
      ['301 s old (negative case)', at + 301, ErrorCode.TimestampOutOfTolerance],
      ['exactly 300 s ahead', at - 300, 'ok'],
      ['301 s ahead of the clock', at - 301, ErrorCode.TimestampOutOfTolerance],
    ])('%s', (_label, now, expected) => {
      expect(codeOf(() => verifyEvents({ nowSeconds: now }))).toBe(expected);
    });

    it("rejects the fixture's negative case (now 1767226002)", () => {
      const negative = fx.negative_cases.find((c) => c.now !== undefined)!;
      expect(codeOf(() => verifyEvents({ nowSeconds: negative.now! }))).toBe(
        ErrorCode.TimestampOutOfTolerance,
      );
    });
  });

  describe('refusals', () => {
    it('refuses a re-serialised body (the MAC covers the bytes, not the JSON)', () => {
      const pretty = JSON.stringify(JSON.parse(events.body), null, 2);
      expect(codeOf(() => verifyEvents({ rawBody: Buffer.from(pretty) }))).toBe(
        ErrorCode.SignatureInvalid,
      );
    });

    it('refuses the wrong secret, a flipped byte, and a non-v0 scheme', () => {
      expect(codeOf(() => verifyEvents({ secrets: ['not-the-secret'] }))).toBe(
        ErrorCode.SignatureInvalid,
      );
      const headers = lowerCaseHeaders(events.headers);
      const sig = headers['x-slack-signature']!;
      const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
      expect(
        codeOf(() => verifyEvents({ headers: { ...headers, 'x-slack-signature': flipped } })),
      ).toBe(ErrorCode.SignatureInvalid);
      expect(
        codeOf(() =>
          verifyEvents({ headers: { ...headers, 'x-slack-signature': sig.replace('v0=', 'v1=') } }),
        ),
      ).toBe(ErrorCode.SignatureInvalid);
    });

    it('checks the signature before the timestamp: a forged stale request is a signature failure', () => {
      expect(codeOf(() => verifyEvents({ secrets: ['not-the-secret'], nowSeconds: 0 }))).toBe(
        ErrorCode.SignatureInvalid,
      );
    });

    it('refuses missing headers and a non-numeric timestamp', () => {
      const headers = lowerCaseHeaders(events.headers);
      expect(
        codeOf(() => verifyEvents({ headers: { ...headers, 'x-slack-signature': undefined } })),
      ).toBe(ErrorCode.SignatureMissing);
      expect(
        codeOf(() =>
          verifyEvents({ headers: { ...headers, 'x-slack-request-timestamp': undefined } }),
        ),
      ).toBe(ErrorCode.SignatureMissing);
      expect(
        codeOf(() =>
          verifyEvents({ headers: { ...headers, 'x-slack-request-timestamp': '1767225701.5' } }),
        ),
      ).toBe(ErrorCode.SignatureInvalid);
    });
  });
});
