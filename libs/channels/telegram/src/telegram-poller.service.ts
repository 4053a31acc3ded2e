import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { APP_CONFIG, type AppConfig, LOGGER, type Logger } from '@app/config';
import { CHANNEL_CURSOR_STORE, type ChannelCursorStore, CLOCK, type Clock } from '@app/core';
import { TELEGRAM_ALLOWED_UPDATES } from './telegram-payloads';
import { TelegramPoller } from './telegram-poller';
import { TelegramIngressService } from './telegram-ingress.service';

/** Slack on top of the long-poll timeout before a hung getUpdates is given up. */
const LONG_POLL_GRACE_MS = 15_000;

/**
 * Long polling for every bot with `mode: polling` (local use: no public URL needed).
 *
 * Runs in the gateway, next to the webhook path it shares (TelegramIngressService), so
 * polled and pushed updates take the same classify → ingest → answer route. Any number
 * of gateway replicas may run it: each bot is polled by the one replica holding its
 * cursor lease (ChannelCursorStore, kept by the ledger); the others stand by.
 *
 * Stopped in onModuleDestroy, which Nest runs before any onApplicationShutdown — before
 * the ledger closes its pool under an ingest in flight.
 */
@Injectable()
export class TelegramPollerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pollers: TelegramPoller[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingress: TelegramIngressService,
    @Inject(CHANNEL_CURSOR_STORE) private readonly cursors: ChannelCursorStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    for (const bot of this.ingress.bots.list()) {
      if (bot.mode !== 'polling') continue;
      const timeoutSeconds = bot.pollTimeout / 1000;
      const poller = new TelegramPoller({
        bot: bot.name,
        timeoutSeconds,
        retryMs: this.config.telegram.pollRetry,
        acquire: () => this.cursors.tryAcquire(`telegram-poller:${bot.name}`),
        getUpdates: async (offset, timeout, signal) => {
          const client = this.ingress.sender.client(bot.name);
          const hung = AbortSignal.timeout(timeout * 1000 + LONG_POLL_GRACE_MS);
          const result = await client.callApi(
            'getUpdates',
            {
              ...(offset !== undefined ? { offset } : {}),
              limit: 100,
              timeout,
              allowed_updates: [...TELEGRAM_ALLOWED_UPDATES],
            },
            // Telegraf types its signal with the abort-controller shim; Node's is the same shape.
            { signal: AbortSignal.any([signal, hung]) as never },
          );
          return result;
        },
        handle: async (update) => {
          await this.ingress.handleUpdate(bot, update);
        },
        now: () => this.clock.now(),
        logger: this.logger.child({ component: 'telegram-poller', bot: bot.name }),
      });
      this.pollers.push(poller);
      poller.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.pollers.map((p) => p.stop()));
    this.pollers.length = 0;
  }
}
