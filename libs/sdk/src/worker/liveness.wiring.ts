import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { configureLiveness } from '@app/agent';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { SlackLiveness, SlackSender } from '@app/channels/slack';
import { TelegramLiveness, TelegramSender } from '@app/channels/telegram';
import { type LivenessChannel } from '@app/core';
import { REDIS, type RedisClient } from '@app/engine';
import { RedisOpenPreviews } from './redis-open-previews';

/** What chats show while an assistant's model works (typing, streamed previews). */
export function livenessChannels(config: AppConfig, logger?: Logger): LivenessChannel[] {
  return [
    new TelegramLiveness(config, new TelegramSender(config, logger), logger),
    new SlackLiveness(config, new SlackSender(config, logger)),
  ];
}

/**
 * Gives the assistants of this process their chats' liveness, and the worker's Redis
 * to keep track of preview messages: the agent sees core's ports only (DESIGN.md).
 */
@Injectable()
export class LivenessWiring implements OnModuleInit {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: RedisClient,
  ) {}

  onModuleInit(): void {
    configureLiveness({
      channels: livenessChannels(this.config, this.logger),
      openPreviews: new RedisOpenPreviews(this.redis, this.config.env.WORKGATE_QUEUE_PREFIX),
    });
  }
}
