import {
  checkTolerance,
  decodeHex,
  fail,
  headerBytes,
  hmacSha256,
  matchesAny,
  parseUnixSeconds,
  plural,
  quote,
  readHeader,
} from './signature.util';
import type { VerifyInput, VerifyResult, WebhookSchemeVerifier } from './webhook-scheme';

const SIGNATURE_HEADER = 'stripe-signature';

/**
 * Stripe (docs.stripe.com/webhooks, stripe-node `Webhooks`): `Stripe-Signature:
 * t=<unix>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`, split on ',' then on the first '='.
 * v1 = hex HMAC-SHA256 of `${t}.${body}` keyed with the whole `whsec_…` string as UTF-8.
 * Unlike Standard Webhooks the secret is NOT base64-decoded, although both start with
 * `whsec_`. One v1 per active secret is sent while a secret is rolled; v0 is the
 * test-mode scheme and is ignored. stripe-node only rejects old timestamps; the window
 * here applies both ways, like the other timestamped schemes.
 */
export class StripeScheme implements WebhookSchemeVerifier {
  readonly name = 'stripe';
  /** The event id (`evt_…`) is in the body, not in a header. */
  readonly defaultIdempotency = { pointer: '/id' };

  verify(input: VerifyInput): VerifyResult {
    const header = readHeader(input.headers, SIGNATURE_HEADER);
    if (header.kind === 'absent') {
      return fail('signature_missing', 'the Stripe-Signature header is absent');
    }
    if (header.kind === 'repeated') {
      return fail(
        'signature_invalid',
        `the Stripe-Signature header was sent ${header.count} times`,
      );
    }
    const items = header.value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) {
      return fail('signature_missing', 'the Stripe-Signature header is empty');
    }

    const timestamps: string[] = [];
    const v1: string[] = [];
    const others = new Set<string>();
    for (const item of items) {
      const eq = item.indexOf('=');
      if (eq < 0) {
        others.add(`malformed item ${quote(item, 16)}`);
        continue;
      }
      const key = item.slice(0, eq);
      const value = item.slice(eq + 1);
      if (key === 't') timestamps.push(value);
      else if (key === 'v1') v1.push(value);
      else others.add(quote(key, 16));
    }

    if (v1.length === 0) {
      const found = others.size === 0 ? '' : ` (found ${[...others].join(', ')})`;
      return fail(
        'signature_missing',
        `Stripe-Signature has no v1 signature${found}; only v1 is verified`,
      );
    }

    const [rawTimestamp] = timestamps;
    if (rawTimestamp === undefined) {
      return fail('signature_invalid', 'Stripe-Signature has no t= timestamp');
    }
    if (timestamps.length > 1) {
      return fail('signature_invalid', `Stripe-Signature has ${timestamps.length} t= entries`);
    }
    const timestamp = parseUnixSeconds(rawTimestamp);
    if (timestamp === undefined) {
      return fail(
        'signature_invalid',
        `Stripe-Signature t=${quote(rawTimestamp)} is not an integer number of Unix seconds`,
      );
    }
    if (input.secrets.length === 0) {
      return fail('signature_invalid', 'no secret is configured');
    }

    const provided: Buffer[] = [];
    for (const value of v1) {
      const decoded = decodeHex(value);
      if (decoded !== undefined) provided.push(decoded);
    }
    const prefix = headerBytes(`${rawTimestamp}.`);
    const expected = input.secrets.map((secret) =>
      hmacSha256(Buffer.from(secret, 'utf8'), prefix, input.rawBody),
    );
    if (!matchesAny(expected, provided)) {
      const undecodable = v1.length - provided.length;
      const badEntries = undecodable === 0 ? '' : `, ${undecodable} not hex`;
      return fail(
        'signature_invalid',
        `no v1 signature matched (${plural(v1.length, 'v1 entry', 'v1 entries')}${badEntries}, ${plural(expected.length, 'secret')} tried)`,
      );
    }

    // Checked only once t is authenticated: see WebhookSchemeVerifier.verify.
    const stale = checkTolerance('Stripe-Signature t', timestamp, input);
    if (stale) return stale;
    return { ok: true, deliveryId: undefined, timestamp };
  }

  sign(input: {
    rawBody: Buffer;
    secret: string;
    nowSeconds: number;
    id?: string;
  }): Record<string, string> {
    const timestamp = String(Math.floor(input.nowSeconds));
    const signature = hmacSha256(
      Buffer.from(input.secret, 'utf8'),
      headerBytes(`${timestamp}.`),
      input.rawBody,
    );
    return { [SIGNATURE_HEADER]: `t=${timestamp},v1=${signature.toString('hex')}` };
  }
}
