import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { SlackIngressService } from './slack-ingress.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * Slack's Request URLs. Each answers 200 only after the event is committed (Slack's ack,
 * well inside its 3 seconds: one transaction); a refused request gets problem+json
 * (401 signature or timestamp, 415, 413, 400) and writes nothing.
 */
@Controller('slack')
export class SlackController {
  constructor(private readonly slack: SlackIngressService) {}

  /** Events API: url_verification, and event_callback (app_mention, message.im, thread replies). */
  @Post('events')
  @HttpCode(200)
  async events(@Headers() headers: RequestHeaders, @Req() request: FastifyRequest) {
    const answer = await this.slack.receive('events', headers, request.rawBody);
    // Slack accepts the challenge as JSON `{ challenge }`.
    return answer.kind === 'challenge' ? { challenge: answer.challenge } : answer;
  }

  /** Interactivity Request URL: block_actions (buttons), `payload=<json>` form-encoded. */
  @Post('interactivity')
  @HttpCode(200)
  async interactivity(@Headers() headers: RequestHeaders, @Req() request: FastifyRequest) {
    await this.slack.receive('interactivity', headers, request.rawBody);
    // Slack wants an empty 200 for block_actions; feedback goes to the presser ephemerally.
    return '';
  }
}
