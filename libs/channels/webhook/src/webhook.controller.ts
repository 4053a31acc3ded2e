import { Controller, Headers, Param, Post, Req, Res } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { WebhookService } from './webhook.service';

@Controller('hooks')
export class WebhookController {
  constructor(private readonly webhooks: WebhookService) {}

  /**
   * 202 with the event id, the routing decision and the work, only after the ledger
   * commit; a repeated delivery gets 200 and the original answer, writing nothing.
   */
  @Post(':source')
  async receive(
    @Param('source') source: string,
    @Headers() headers: Record<string, string | string[] | undefined>,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.webhooks.receive(source, headers, request.rawBody);
    void reply.status(result.duplicate ? 200 : 202);
    return {
      eventId: result.eventId,
      decision: result.decision,
      workId: result.workId,
      duplicate: result.duplicate,
    };
  }
}
