import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';
import { CHAT_COMMAND_MENU } from '@app/core';
import { TelegramIngressService } from './telegram-ingress.service';

/**
 * Telegram's command menu (the "/" button and the suggestions while typing) for every
 * configured bot, set with setMyCommands when the gateway starts — the same list `/help`
 * answers with (CHAT_COMMAND_MENU). Not awaited by the start: Telegram being unreachable
 * must not keep the gateway from taking webhooks, and every gateway replica setting the
 * same list is harmless (it replaces, it does not add). A failure is a warning.
 */
@Injectable()
export class TelegramCommandMenuService implements OnApplicationBootstrap {
  constructor(
    private readonly ingress: TelegramIngressService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    for (const bot of this.ingress.bots.list()) {
      this.ingress.sender
        .call(bot.name, 'setMyCommands', { commands: [...CHAT_COMMAND_MENU] })
        .catch((err: Error) =>
          this.logger.warn(
            { bot: bot.name, err: err.message },
            'setMyCommands failed: the command menu is not shown (the commands still work)',
          ),
        );
    }
  }
}
