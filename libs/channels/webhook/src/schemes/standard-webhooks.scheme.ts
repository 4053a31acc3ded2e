import { randomUUID } from 'node:crypto';
import {
  checkTolerance,
  decodeBase64,
  fail,
  headerBytes,
  hmacSha256,
  matchesAny,
  parseUnixSeconds,
  plural,
  quote,
  readHeader,
  type HeaderRead,
} from './signature.util';
import type { VerifyInput, VerifyResult, WebhookSchemeVerifier } from './webhook-scheme';

const SECRET_PREFIX = 'whsec_';
const ID_HEADER = 'webhook-id';
const TIMESTAMP_HEADER = 'webhook-timestamp';
const SIGNATURE_HEADER = 'webhook-signature';

/**
 * The HMAC key of a Standard Webhooks secret: the base64-decoded bytes after `whsec_`.
 * The bare base64 is accepted too, as the reference library does
 * (standard-webhooks libraries/javascript: the prefix is stripped only when present).
 * Undefined when the rest is not base64.
 */
export function standardWebhooksKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return decodeBase64(encoded);
}

/**
 * Standard Webhooks v1 (spec v1.0.0): `webhook-signature` is a space-separated list of
 * `<version>,<base64>` entries over `${webhook-id}.${webhook-timestamp}.${body}`. Only
 * `v1` (HMAC-SHA256) is verified; `v1a` (ed25519) and unknown versions are skipped, as
 * the spec asks, so a sender may add them without breaking us.
 */
export class StandardWebhooksScheme implements WebhookSchemeVerifier {
  readonly name = 'standard-webhooks';
  readonly defaultIdempotency = { header: ID_HEADER };

  verify(input: VerifyInput): VerifyResult {
    const signatureHeader = readHeader(input.headers, SIGNATURE_HEADER);
    if (signatureHeader.kind === 'absent') {
      return fail('signature_missing', `the ${SIGNATURE_HEADER} header is absent`);
    }
    if (signatureHeader.kind === 'repeated') {
      return fail(
        'signature_invalid',
        `the ${SIGNATURE_HEADER} header was sent ${signatureHeader.count} times`,
      );
    }
    const signatures = parseSignatures(signatureHeader.value);
    if ('ok' in signatures) return signatures;
    const { provided, undecodable } = signatures;

    // Both headers are inside the signed content: without them there is nothing to check.
    const idHeader = readHeader(input.headers, ID_HEADER);
    if (idHeader.kind !== 'single' || idHeader.value === '') {
      return fail(
        'signature_invalid',
        `the ${ID_HEADER} header is ${describeUnusable(idHeader)}; it is part of the signed content`,
      );
    }
    const timestampHeader = readHeader(input.headers, TIMESTAMP_HEADER);
    if (timestampHeader.kind !== 'single') {
      return fail(
        'signature_invalid',
        `the ${TIMESTAMP_HEADER} header is ${describeUnusable(timestampHeader)}; it is part of the signed content`,
      );
    }
    const timestamp = parseUnixSeconds(timestampHeader.value);
    if (timestamp === undefined) {
      return fail(
        'signature_invalid',
        `${TIMESTAMP_HEADER} ${quote(timestampHeader.value)} is not an integer number of Unix seconds`,
      );
    }

    const { keys, secretNote } = usableKeys(input.secrets);
    if (keys.length === 0) {
      return fail('signature_invalid', `no usable secret is configured${secretNote}`);
    }

    // The signed timestamp is the header text as sent, not the number re-printed.
    const prefix = headerBytes(`${idHeader.value}.${timestampHeader.value}.`);
    const expected = keys.map((key) => hmacSha256(key, prefix, input.rawBody));
    if (!matchesAny(expected, provided)) {
      const badEntries =
        undecodable === 0
          ? ''
          : `, ${plural(undecodable, 'v1 entry', 'v1 entries')} not valid base64`;
      return fail(
        'signature_invalid',
        `no v1 signature matched (${plural(provided.length, 'decodable v1 entry', 'decodable v1 entries')}${badEntries}, ${plural(keys.length, 'secret')} tried)${secretNote}`,
      );
    }

    // Checked only once the timestamp is authenticated: see WebhookSchemeVerifier.verify.
    const stale = checkTolerance(TIMESTAMP_HEADER, timestamp, input);
    if (stale) return stale;
    return { ok: true, deliveryId: idHeader.value, timestamp };
  }

  sign(input: {
    rawBody: Buffer;
    secret: string;
    nowSeconds: number;
    id?: string;
  }): Record<string, string> {
    const key = standardWebhooksKey(input.secret);
    if (key === undefined) {
      throw new TypeError(
        'a Standard Webhooks secret is whsec_ followed by base64 (or the bare base64)',
      );
    }
    const id = input.id ?? `msg_${randomUUID()}`;
    // Printable ASCII only, so the bytes signed here are the bytes any HTTP client sends.
    if (!/^[\x21-\x7e]+$/.test(id)) {
      throw new TypeError(`webhook-id must be non-empty printable ASCII, got ${quote(id)}`);
    }
    const timestamp = String(Math.floor(input.nowSeconds));
    const signature = hmacSha256(key, headerBytes(`${id}.${timestamp}.`), input.rawBody);
    return {
      [ID_HEADER]: id,
      [TIMESTAMP_HEADER]: timestamp,
      [SIGNATURE_HEADER]: `v1,${signature.toString('base64')}`,
    };
  }
}

function describeUnusable(header: HeaderRead): string {
  switch (header.kind) {
    case 'absent':
      return 'absent';
    case 'repeated':
      return `sent ${header.count} times`;
    case 'single':
      return 'empty';
  }
}

/**
 * The v1 signatures of a `webhook-signature` header, decoded; other versions are
 * skipped as the spec asks. A failure when the header holds no v1 entry at all.
 */
function parseSignatures(
  header: string,
): { provided: Buffer[]; undecodable: number } | VerifyResult {
  const entries = header.split(' ').filter((entry) => entry !== '');
  if (entries.length === 0) {
    return fail('signature_missing', `the ${SIGNATURE_HEADER} header is empty`);
  }

  const provided: Buffer[] = [];
  let undecodable = 0;
  const skipped = new Set<string>();
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    const version = comma < 0 ? undefined : entry.slice(0, comma);
    if (version !== 'v1') {
      skipped.add(
        version === undefined ? `malformed entry ${quote(entry, 16)}` : quote(version, 16),
      );
      continue;
    }
    const signature = decodeBase64(entry.slice(comma + 1));
    if (signature === undefined) undecodable++;
    else provided.push(signature);
  }
  if (provided.length === 0 && undecodable === 0) {
    return fail(
      'signature_missing',
      `${SIGNATURE_HEADER} has no v1 entry (found ${[...skipped].join(', ')}); only v1 (HMAC-SHA256) is verified`,
    );
  }
  return { provided, undecodable };
}

/** The HMAC keys of the configured secrets, and a note naming the ones unusable. */
function usableKeys(secrets: readonly string[]): { keys: Buffer[]; secretNote: string } {
  const keys: Buffer[] = [];
  const unusableSecrets: number[] = [];
  secrets.forEach((secret, index) => {
    const key = standardWebhooksKey(secret);
    if (key === undefined) unusableSecrets.push(index + 1);
    else keys.push(key);
  });
  const secretNote =
    unusableSecrets.length === 0
      ? ''
      : `; configured secret(s) #${unusableSecrets.join(', #')} are not whsec_<base64> and were skipped`;
  return { keys, secretNote };
}
