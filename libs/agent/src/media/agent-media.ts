import { type AttachmentsConfig } from '@app/config';
import { type AttachmentFetcher, type AttachmentStore } from '@app/core';

/**
 * What the assistant needs for files: the store that keeps them, one fetcher per channel
 * (Telegram getFile, Slack url_private), and the `attachments:` limits. The worker
 * builds it from config (apps/worker); a test or an SDK worker passes its own.
 */
export interface AgentMedia {
  store: AttachmentStore;
  fetchers: AttachmentFetcher[];
  limits: AttachmentsConfig;
}

let configured: AgentMedia | undefined;

/** Called by the worker at start, next to configureAgent. */
export function configureAgentMedia(media: AgentMedia | undefined): void {
  configured = media;
}

export function configuredAgentMedia(): AgentMedia | undefined {
  return configured;
}
