import { Module } from '@nestjs/common';
import { TelegramController } from './telegram.controller';
import { TelegramIngressService } from './telegram-ingress.service';
import { TelegramPollerService } from './telegram-poller.service';

/**
 * Telegram (`POST /telegram/:bot`, and long polling for bots in polling mode). Needs
 * the ledger and config modules; the gateway registers TelegramIngressService.bodyPolicy
 * with its body parser so these routes get the exact bytes and their own limit.
 */
@Module({
  controllers: [TelegramController],
  providers: [TelegramIngressService, TelegramPollerService],
  exports: [TelegramIngressService],
})
export class TelegramModule {}
