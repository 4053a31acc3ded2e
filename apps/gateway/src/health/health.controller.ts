import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { LedgerDatabase } from '@app/ledger';
import { REDIS, type RedisClient } from '@app/engine';

async function probe(
  fn: () => Promise<unknown>,
  timeoutMs: number,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: (err as Error).message,
    };
  } finally {
    clearTimeout(timer);
  }
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly db: LedgerDatabase,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  /** Liveness: the process answers. Never checks dependencies (a restart would not fix them). */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Readiness: PostgreSQL and Redis both answer; 503 otherwise so a balancer stops sending. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, redis] = await Promise.all([
      probe(() => this.db.ping(), 2_000),
      probe(() => this.redis.ping(), 2_000),
    ]);
    const ok = postgres.ok && redis.ok;
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks: { postgres, redis } };
  }
}
