import { Module } from '@nestjs/common';
import { TelegramCommandMenuService } from './telegram-command-menu.service';
import { TelegramController } from './telegram.controller';
import { TelegramIngressService } from './telegram-ingress.service';
import { TelegramPollerService } from './telegram-poller.service';

/**
 * Telegram (`POST /telegram/:bot`, long polling for bots in polling mode, and each bot's
 * command menu). Needs the ledger and config modules; the gateway registers TelegramIngressService.bodyPolicy
 * with its body parser so these routes get the exact bytes and their own limit.
 */
@Module({
  controllers: [TelegramController],
  providers: [TelegramIngressService, TelegramPollerService, TelegramCommandMenuService],
  exports: [TelegramIngressService],
})
export class TelegramModule {}
