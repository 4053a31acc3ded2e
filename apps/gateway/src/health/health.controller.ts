import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { LedgerDatabase } from '@app/ledger';
import { REDIS, type RedisClient } from '@app/engine';
import { ProcessHealth, probeDependency } from '@app/observability';

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: LedgerDatabase,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly health: ProcessHealth,
  ) {}

  /** Liveness: the process answers. Never checks dependencies (a restart would not fix them). */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness: PostgreSQL and Redis both answer and the gateway is not draining after
   * SIGTERM; 503 otherwise so a balancer stops sending (server.drainDelay gives it time).
   */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, redis] = await Promise.all([
      probeDependency(() => this.db.ping(), 2_000),
      probeDependency(() => this.redis.ping(), 2_000),
    ]);
    const { ok, body } = this.health.readiness({ postgres, redis });
    void reply.status(ok ? 200 : 503);
    return body;
  }
}
