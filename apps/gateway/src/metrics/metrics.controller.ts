import { Controller, Get, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';
import { PromMetrics } from '@app/observability';

/**
 * Prometheus exposition at GET /metrics, public like /health: counts and timings only,
 * no work data. Keep it on the internal network (or behind the load balancer's ACL).
 */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: PromMetrics) {}

  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const text = await this.metrics.scrape();
    await reply.header('content-type', this.metrics.contentType).send(text);
  }
}
