import { createHmac, timingSafeEqual } from 'node:crypto';
import { firstHeader } from '@app/channels/core';
import { ErrorCode, WorkgateError } from '@app/core';

/** Slack's replay window: 5 minutes, applied in both directions. */
export const SLACK_TOLERANCE_SECONDS = 300;

export interface SlackSignatureInput {
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes received: the MAC covers these, never re-serialised JSON or a parsed form. */
  rawBody: Buffer;
  /** Every configured signing secret (one per Slack app); any one may match. */
  secrets: readonly string[];
  nowSeconds: number;
  toleranceSeconds?: number;
}

function mac(secret: string, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest();
}

/**
 * Verifies `X-Slack-Signature` (`v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`) and
 * returns the signing secret that matched, so the caller knows which Slack app sent it.
 *
 * Hand-written rather than Bolt's `verifySlackRequest`: that one only refuses timestamps
 * that are too OLD (a far-future timestamp stays valid for as long as it is ahead) and
 * hashes a decoded string instead of the bytes on the wire. Every secret is tried with a
 * constant-time comparison and the loop never exits early. The timestamp is checked
 * after the signature, so `timestamp_out_of_tolerance` always means "authentic, but too
 * old or too new".
 */
export function verifySlackSignature(input: SlackSignatureInput): string {
  const timestamp = firstHeader(input.headers['x-slack-request-timestamp']);
  const signature = firstHeader(input.headers['x-slack-signature']);
  if (!timestamp || !signature) {
    throw new WorkgateError(
      ErrorCode.SignatureMissing,
      'X-Slack-Request-Timestamp and X-Slack-Signature are required.',
    );
  }
  if (!/^[0-9]{1,15}$/.test(timestamp)) {
    throw new WorkgateError(
      ErrorCode.SignatureInvalid,
      'X-Slack-Request-Timestamp is not Unix seconds.',
    );
  }
  const hex = /^v0=([0-9a-f]{64})$/i.exec(signature)?.[1];
  if (!hex) {
    throw new WorkgateError(
      ErrorCode.SignatureInvalid,
      'X-Slack-Signature is not a v0 HMAC-SHA256 signature.',
    );
  }
  const given = Buffer.from(hex, 'hex');
  let matched: string | undefined;
  for (const secret of new Set(input.secrets)) {
    const equal = timingSafeEqual(mac(secret, timestamp, input.rawBody), given);
    if (equal && matched === undefined) matched = secret;
  }
  if (matched === undefined) {
    throw new WorkgateError(
      ErrorCode.SignatureInvalid,
      'X-Slack-Signature does not match any configured signing secret.',
    );
  }
  const tolerance = input.toleranceSeconds ?? SLACK_TOLERANCE_SECONDS;
  const age = input.nowSeconds - Number(timestamp);
  if (Math.abs(age) > tolerance) {
    throw new WorkgateError(
      ErrorCode.TimestampOutOfTolerance,
      `X-Slack-Request-Timestamp ${timestamp} is ${Math.abs(age)} s ${age > 0 ? 'older than' : 'ahead of'} now; the tolerance is ${tolerance} s.`,
    );
  }
  return matched;
}

/** The headers Slack sends with a request: what tests and the CLI use to sign as Slack does. */
export function signSlackRequest(
  rawBody: Buffer | string,
  secret: string,
  nowSeconds: number,
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  const bytes = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody, 'utf8');
  const timestamp = String(nowSeconds);
  return {
    'x-slack-request-timestamp': timestamp,
    'x-slack-signature': `v0=${mac(secret, timestamp, bytes).toString('hex')}`,
  };
}
