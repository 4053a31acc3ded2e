/**
 * The port every webhook signing scheme implements. Verification is a pure function
 * of the request (headers + exact body bytes), the configured secrets and an injected
 * clock, so the HTTP layer can call it without knowing any scheme's wire format.
 */
export interface VerifyInput {
  /** Lower-cased names, as Node's IncomingHttpHeaders has them. */
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes received: signatures cover these, never re-serialised JSON. */
  rawBody: Buffer;
  /** Several are accepted at once so a secret can be rotated without downtime. */
  secrets: string[];
  /** Unix seconds, injected so tests can pin the clock. */
  nowSeconds: number;
  /** Allowed distance between the signed timestamp and now, in both directions (300 by default). */
  toleranceSeconds: number;
}

export type VerifyFailureCode =
  'signature_missing' | 'signature_invalid' | 'timestamp_out_of_tolerance';

export type VerifyResult =
  | {
      ok: true;
      /**
       * The scheme's own idempotency id when it has one in a header (webhook-id,
       * x-github-delivery). Undefined for Stripe: its id is the body's `id`, which the
       * caller reads with the JSON pointer in `defaultIdempotency`.
       */
      deliveryId: string | undefined;
      /** The signed timestamp, for schemes that sign one. */
      timestamp?: number;
    }
  | { ok: false; code: VerifyFailureCode; detail: string };

export type WebhookSchemeName = 'standard-webhooks' | 'github' | 'stripe' | 'none';

export interface WebhookSchemeVerifier {
  readonly name: WebhookSchemeName;
  /** Where this scheme's idempotency key lives by default. */
  readonly defaultIdempotency: { header: string } | { pointer: string } | undefined;
  /**
   * Never throws: malformed input is a failed result with a precise detail.
   *
   * Order of checks, the same in every scheme: header syntax, then the signature, then
   * the timestamp window. The timestamp is part of the signed content, so until the MAC
   * matches it is just a number anyone could have typed; judging it first would label
   * forged or garbled requests "stale" and hand unauthenticated callers a probe of our
   * clock. Checked after, `timestamp_out_of_tolerance` always means "authentic but too
   * old or too new" (a replay, or the sender's clock is off), which is what an operator
   * needs to tell apart from a wrong secret. The HMAC it costs on a stale delivery is
   * cheap next to the body limit already enforced. stripe-node uses this order; the
   * Standard Webhooks reference library checks the timestamp first. Both codes end in
   * 401 upstream either way.
   */
  verify(input: VerifyInput): VerifyResult;
  /** Produces the headers a correctly signed delivery carries (used by tests and `workgate send webhook`). */
  sign(input: {
    rawBody: Buffer;
    secret: string;
    nowSeconds: number;
    id?: string;
  }): Record<string, string>;
}
