import {
  applyDecorators,
  createParamDecorator,
  type ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { type ApiTokenRole } from '@app/ledger';
import { type ApiPrincipal } from './api-principal';

export const OPERATOR_API = Symbol('operator-api');
export const REQUIRED_ROLE = Symbol('required-role');

/**
 * Marks a controller as part of the operator API: every route needs a bearer token.
 * Reads need a viewer, anything else an operator, unless a route says otherwise
 * with @RequireRole.
 */
export const OperatorApi = () =>
  applyDecorators(SetMetadata(OPERATOR_API, true), ApiBearerAuth('token'));

export const RequireRole = (role: ApiTokenRole) => SetMetadata(REQUIRED_ROLE, role);

/** The caller's timeline actor (`token:<name>`). */
export const Actor = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const principal = context.switchToHttp().getRequest<FastifyRequest>().apiPrincipal;
  // Only reachable on a route the guard let through, which always sets a principal.
  if (!principal) throw new Error('@Actor() on a route without @OperatorApi()');
  return principal.actor;
});

export type { ApiPrincipal };
