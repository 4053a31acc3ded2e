import { randomUUID } from 'node:crypto';
import {
  decodeHex,
  fail,
  hmacSha256,
  matchesAny,
  plural,
  quote,
  readHeader,
} from './signature.util';
import type { VerifyInput, VerifyResult, WebhookSchemeVerifier } from './webhook-scheme';

const SIGNATURE_HEADER = 'x-hub-signature-256';
const LEGACY_SHA1_HEADER = 'x-hub-signature';
const DELIVERY_HEADER = 'x-github-delivery';
const PREFIX = 'sha256=';

/**
 * GitHub (docs.github.com, "Validating webhook deliveries"): `X-Hub-Signature-256:
 * sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the secret as UTF-8. Nothing
 * time-dependent is signed, so there is no replay window to enforce; a replayed delivery
 * carries the same X-GitHub-Delivery and is collapsed by the idempotency key instead.
 */
export class GithubScheme implements WebhookSchemeVerifier {
  readonly name = 'github';
  readonly defaultIdempotency = { header: DELIVERY_HEADER };

  verify(input: VerifyInput): VerifyResult {
    const header = readHeader(input.headers, SIGNATURE_HEADER);
    if (header.kind === 'absent') {
      // The SHA-1 header is still sent alongside for old receivers; it is not accepted.
      const legacy = readHeader(input.headers, LEGACY_SHA1_HEADER).kind !== 'absent';
      return fail(
        'signature_missing',
        legacy
          ? 'X-Hub-Signature-256 is absent and the legacy SHA-1 X-Hub-Signature is not accepted'
          : 'X-Hub-Signature-256 is absent; is a secret set on the GitHub webhook?',
      );
    }
    if (header.kind === 'repeated') {
      return fail('signature_invalid', `X-Hub-Signature-256 was sent ${header.count} times`);
    }
    if (!header.value.startsWith(PREFIX)) {
      return fail(
        'signature_invalid',
        `X-Hub-Signature-256 ${quote(header.value)} does not start with "${PREFIX}"`,
      );
    }
    const provided = decodeHex(header.value.slice(PREFIX.length));
    if (provided === undefined) {
      return fail(
        'signature_invalid',
        `X-Hub-Signature-256 ${quote(header.value)} is not sha256=<hex>`,
      );
    }
    if (input.secrets.length === 0) {
      return fail('signature_invalid', 'no secret is configured');
    }

    const expected = input.secrets.map((secret) =>
      hmacSha256(Buffer.from(secret, 'utf8'), input.rawBody),
    );
    if (!matchesAny(expected, [provided])) {
      return fail(
        'signature_invalid',
        `X-Hub-Signature-256 matched none of ${plural(expected.length, 'secret')}`,
      );
    }
    const delivery = readHeader(input.headers, DELIVERY_HEADER);
    return { ok: true, deliveryId: delivery.kind === 'single' ? delivery.value : undefined };
  }

  sign(input: {
    rawBody: Buffer;
    secret: string;
    nowSeconds: number;
    id?: string;
  }): Record<string, string> {
    const signature = hmacSha256(Buffer.from(input.secret, 'utf8'), input.rawBody);
    return {
      [SIGNATURE_HEADER]: `${PREFIX}${signature.toString('hex')}`,
      [DELIVERY_HEADER]: input.id ?? randomUUID(),
    };
  }
}
