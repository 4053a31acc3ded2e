import { Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { type TelegramAnswer, TelegramIngressService } from './telegram-ingress.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

/**
 * The webhook URL of each bot in webhook mode (`workgate telegram set-webhook` registers
 * it). 200 only after the update is committed: Telegram redelivers on anything else, and
 * the dedupe on (bot, update_id) makes a redelivery a no-op. A refused request gets
 * problem+json (404 unknown bot, 401 secret token, 415, 413, 400) and writes nothing.
 */
@Controller('telegram')
export class TelegramController {
  constructor(private readonly telegram: TelegramIngressService) {}

  @Post(':bot')
  @HttpCode(200)
  receive(
    @Param('bot') bot: string,
    @Headers() headers: RequestHeaders,
    @Req() request: FastifyRequest,
  ): Promise<TelegramAnswer> {
    return this.telegram.receive(bot, headers, request.rawBody);
  }
}
