import { type ApiTokenRole } from '@app/ledger';

/** Who is calling the operator API, as the auth guard established it. */
export interface ApiPrincipal {
  /** The token's name (`bootstrap` for WORKGATE_API_TOKEN). */
  name: string;
  role: ApiTokenRole;
  /** How the timeline records this caller's actions. */
  actor: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by ApiAuthGuard on /api/v1 routes. */
    apiPrincipal?: ApiPrincipal;
  }
}

/** The timeline's actor for a token: `token:<name>`. */
export const actorOf = (name: string) => `token:${name}`;
