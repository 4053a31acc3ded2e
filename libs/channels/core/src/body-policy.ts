import { type FastifyRequest } from 'fastify';
import { type WorkgateError } from '@app/core';

/**
 * How one request's body is read. Channel modules (webhooks, Slack, Telegram) decide
 * for their own routes: the exact bytes for signature checks and a limit of their own.
 */
export interface BodyPolicy {
  /** Bytes; reading stops one byte past it (413), so memory stays flat. */
  limit: number;
  /** Keep the exact bytes as the body (signed routes); otherwise parse JSON. */
  raw: boolean;
  /** Refuse before reading a byte (unknown source 404, wrong content type 415). */
  error?: WorkgateError;
}

export type BodyPolicyResolver = (request: FastifyRequest) => BodyPolicy | undefined;

/** Collects the policies channel modules register; the gateway's parser consults them. */
export class BodyPolicies {
  private readonly resolvers: BodyPolicyResolver[] = [];

  register(resolver: BodyPolicyResolver): void {
    this.resolvers.push(resolver);
  }

  resolve(request: FastifyRequest): BodyPolicy | undefined {
    for (const resolver of this.resolvers) {
      const policy = resolver(request);
      if (policy) return policy;
    }
    return undefined;
  }
}
