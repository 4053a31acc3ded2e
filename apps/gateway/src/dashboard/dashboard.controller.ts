import { Controller, Get, Req } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { OperatorApi } from '../auth/api-auth.decorators';

/**
 * What the dashboard asks at sign-in: is this token good, and may it act? The API
 * answers 401/403 on its own, but knowing the role up front lets the page show a
 * viewer read-only controls instead of buttons that fail.
 */
@OperatorApi()
@Controller('dashboard')
export class DashboardController {
  @Get('session')
  session(@Req() request: FastifyRequest): { name: string; role: string } {
    // The guard sets the principal on every @OperatorApi() route it lets through.
    const principal = request.apiPrincipal!;
    return { name: principal.name, role: principal.role };
  }
}
