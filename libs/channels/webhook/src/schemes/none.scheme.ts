import type { VerifyInput, VerifyResult, WebhookSchemeVerifier } from './webhook-scheme';

/**
 * Accepts every delivery. The config layer only allows it with `allowUnsigned: true`
 * and an explicit idempotency locator, since there is no id header of its own.
 */
export class NoneScheme implements WebhookSchemeVerifier {
  readonly name = 'none';
  readonly defaultIdempotency = undefined;

  verify(_input: VerifyInput): VerifyResult {
    return { ok: true, deliveryId: undefined };
  }

  sign(_input: {
    rawBody: Buffer;
    secret: string;
    nowSeconds: number;
    id?: string;
  }): Record<string, string> {
    return {};
  }
}
