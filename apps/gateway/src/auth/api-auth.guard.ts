import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ErrorCode, WorkgateError } from '@app/core';
import { ApiTokenRepository, type ApiTokenRole } from '@app/ledger';
import { OPERATOR_API, REQUIRED_ROLE } from './api-auth.decorators';
import { actorOf, type ApiPrincipal } from './api-principal';

const REALM = 'workgate';
const READ_METHODS = new Set(['GET', 'HEAD']);
const RANK: Record<ApiTokenRole, number> = { viewer: 0, operator: 1 };

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Bearer-token auth for the operator API only: routes of controllers marked
 * @OperatorApi(). Webhooks, chat channels and health keep their own checks, and the
 * OpenAPI document and Swagger UI are served outside Nest's router, so they are public.
 *
 * 401 (RFC 6750): no token, or one that is unknown or revoked. 403: a viewer asking
 * for an action. Both are problem+json with a WWW-Authenticate challenge.
 */
@Injectable()
export class ApiAuthGuard implements CanActivate {
  private readonly bootstrap: Buffer | null;

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokenRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const token = config.env.WORKGATE_API_TOKEN;
    this.bootstrap = token ? sha256(token) : null;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (!this.reflector.getAllAndOverride<boolean>(OPERATOR_API, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();

    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) {
      void reply.header('www-authenticate', `Bearer realm="${REALM}"`);
      throw new WorkgateError(
        ErrorCode.Unauthorized,
        'This endpoint needs an API token: Authorization: Bearer wg_… (workgate tokens create).',
      );
    }
    const principal = await this.authenticate(match[1]!);
    if (!principal) {
      void reply.header(
        'www-authenticate',
        `Bearer realm="${REALM}", error="invalid_token", error_description="unknown or revoked token"`,
      );
      throw new WorkgateError(ErrorCode.Unauthorized, 'The API token is unknown or revoked.');
    }
    const required =
      this.reflector.getAllAndOverride<ApiTokenRole | undefined>(REQUIRED_ROLE, targets) ??
      (READ_METHODS.has(request.method) ? 'viewer' : 'operator');
    if (RANK[principal.role] < RANK[required]) {
      void reply.header(
        'www-authenticate',
        `Bearer realm="${REALM}", error="insufficient_scope", scope="${required}"`,
      );
      throw new WorkgateError(
        ErrorCode.Forbidden,
        `Token "${principal.name}" has the ${principal.role} role; this needs the ${required} role.`,
        { role: principal.role, requiredRole: required },
      );
    }
    request.apiPrincipal = principal;
    return true;
  }

  private async authenticate(token: string): Promise<ApiPrincipal | null> {
    // Compared as digests: equal length, so timingSafeEqual applies and leaks nothing.
    if (this.bootstrap && timingSafeEqual(sha256(token), this.bootstrap))
      return { name: 'bootstrap', role: 'operator', actor: actorOf('bootstrap') };
    const info = await this.tokens.authenticate(token);
    return info ? { name: info.name, role: info.role, actor: actorOf(info.name) } : null;
  }
}
