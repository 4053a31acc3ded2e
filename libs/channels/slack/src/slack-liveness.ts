import { type webApi } from '@slack/bolt';
import {
  type ChatPreview,
  type LivenessAddress,
  type LivenessChannel,
  type LivenessMode,
  type PreviewMessageRef,
  type PreviewOptions,
  type PreviewPacing,
  type PreviewRecipient,
} from '@app/core';
import { SLACK_CHANNEL } from './slack-normalize';
import { parseSlackTarget, type SlackSender } from './slack.sender';
import { SlackWorkspaces } from './slack-workspaces';

/**
 * assistant.threads.setStatus shows until the app replies in the thread (or about two
 * minutes pass), so it is set again every 30 s; chat.appendStream is Tier 4 (100+ a
 * minute), one append a second leaves room for the thread's other calls.
 */
const PACING: PreviewPacing = { typingEveryMs: 30_000, textEveryMs: 1_000 };
const STATUS = 'is thinking…';

const isSlackError = (err: unknown, code: string) =>
  (err as { data?: { error?: unknown } } | null)?.data?.error === code;

/** Direct-message channel ids start with D: a stream there needs no recipient. */
const isDirectMessage = (channel: string) => channel.startsWith('D');

/**
 * Liveness on Slack (docs/slack.md, "Liveness"): the assistant thread's status
 * (`assistant.threads.setStatus`) while the model works, and in `stream` mode the answer
 * as it is written with the Web API's native streaming (`chat.startStream` /
 * `appendStream` / `stopStream`, through the SDK's ChatStreamer). Both need a thread;
 * a stream outside a DM also names its recipient. At the end the streamed message is
 * stopped and deleted: the outbox's message, posted once, is the answer.
 */
export class SlackLiveness implements LivenessChannel {
  readonly channel = SLACK_CHANNEL;
  private readonly workspaces: SlackWorkspaces;

  constructor(
    config: ConstructorParameters<typeof SlackWorkspaces>[0],
    private readonly sender: Pick<SlackSender, 'client'>,
  ) {
    this.workspaces = new SlackWorkspaces(config);
  }

  modeFor(address: LivenessAddress): LivenessMode {
    const target = parseSlackTarget(address.target);
    if (!target || !address.thread) return 'off';
    return this.workspaces.get(target.workspace)?.liveness ?? 'off';
  }

  pacing(): PreviewPacing {
    return PACING;
  }

  open(address: LivenessAddress, options: PreviewOptions): ChatPreview {
    const target = parseSlackTarget(address.target);
    if (!target || !address.thread) throw new Error(`"${address.target}" has no Slack thread`);
    const client = this.sender.client(target.workspace);
    return new SlackPreview(client, target.channel, address.thread, options);
  }

  async discard(preview: PreviewMessageRef): Promise<void> {
    const target = parseSlackTarget(preview.target);
    if (!target) return;
    const client = this.sender.client(target.workspace);
    const where = { channel: target.channel, ts: preview.message };
    // A stream left open by a dead worker is stopped first; one already stopped says so.
    await client.chat.stopStream(where).catch(() => undefined);
    await client.chat.delete(where).catch((err: unknown) => {
      if (!isSlackError(err, 'message_not_found')) throw err;
    });
  }
}

/** One model call's status and stream in one thread. */
class SlackPreview implements ChatPreview {
  private streamer: webApi.ChatStreamer | undefined;
  private streamed = '';
  private statusSet = false;
  /** Not an assistant thread (setStatus refused): not asked again for this call. */
  private statusRefused = false;

  private readonly recipient: PreviewRecipient | undefined;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly channel: string,
    private readonly thread: string,
    private readonly options: PreviewOptions,
  ) {
    this.recipient = options.recipient;
  }

  async typing(): Promise<void> {
    if (this.statusRefused) return;
    try {
      await this.setStatus(STATUS);
      this.statusSet = true;
    } catch (err) {
      this.statusRefused = true;
      throw err;
    }
  }

  async text(soFar: string): Promise<void> {
    // Outside a DM Slack streams to one person: without one, the status has to do.
    if (!isDirectMessage(this.channel) && !this.recipient) return;
    if (!soFar.startsWith(this.streamed)) return;
    const piece = soFar.slice(this.streamed.length);
    if (!piece) return;
    this.streamer ??= this.client.chatStream({
      channel: this.channel,
      thread_ts: this.thread,
      ...(this.recipient && !isDirectMessage(this.channel)
        ? {
            recipient_user_id: this.recipient.user,
            ...(this.recipient.team ? { recipient_team_id: this.recipient.team } : {}),
          }
        : {}),
      // Pacing is LiveTurn's: every append goes out at once.
      buffer_size: 1,
    });
    const first = !this.streamer.ts;
    await this.streamer.append({ markdown_text: piece });
    this.streamed = soFar;
    if (first && this.streamer.ts) await this.options.track?.opened(this.streamer.ts);
  }

  async end(): Promise<void> {
    const streamer = this.streamer;
    this.streamer = undefined;
    if (streamer?.ts) {
      const ts = streamer.ts;
      await streamer.stop();
      await this.client.chat.delete({ channel: this.channel, ts });
      await this.options.track?.closed(ts);
    }
    // Slack clears the status when the app replies; cleared here too, for an answer that fails.
    if (this.statusSet) await this.setStatus('');
  }

  private async setStatus(status: string): Promise<void> {
    await this.client.assistant.threads.setStatus({
      channel_id: this.channel,
      thread_ts: this.thread,
      status,
    });
  }
}
