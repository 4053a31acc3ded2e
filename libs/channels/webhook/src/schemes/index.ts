import { GithubScheme } from './github.scheme';
import { NoneScheme } from './none.scheme';
import { StandardWebhooksScheme } from './standard-webhooks.scheme';
import { StripeScheme } from './stripe.scheme';
import type { WebhookSchemeName, WebhookSchemeVerifier } from './webhook-scheme';

export * from './webhook-scheme';
export * from './standard-webhooks.scheme';
export * from './github.scheme';
export * from './stripe.scheme';
export * from './none.scheme';

/** Every verifier by the name a webhook source's `scheme` setting uses. The verifiers are stateless. */
export const SCHEMES: Readonly<Record<WebhookSchemeName, WebhookSchemeVerifier>> = Object.freeze({
  'standard-webhooks': new StandardWebhooksScheme(),
  github: new GithubScheme(),
  stripe: new StripeScheme(),
  none: new NoneScheme(),
});
