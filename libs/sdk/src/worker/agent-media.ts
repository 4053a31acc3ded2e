import { type AgentMedia } from '@app/agent';
import { type AppConfig } from '@app/config';
import { SlackFileFetcher } from '@app/channels/slack';
import { TelegramFileFetcher } from '@app/channels/telegram';
import { attachmentStoreFor } from '@app/ledger';

/** Files in chat for the assistant: the configured store, and a fetcher per chat channel. */
export function agentMediaFor(config: AppConfig): AgentMedia {
  return {
    store: attachmentStoreFor(config),
    fetchers: [new TelegramFileFetcher(config), new SlackFileFetcher(config)],
    limits: config.attachments,
  };
}
