import { TelegramError } from 'telegraf';
import { type Logger } from '@app/config';
import {
  type ChatPreview,
  type LivenessAddress,
  type LivenessChannel,
  type LivenessMode,
  type PreviewMessageRef,
  type PreviewOptions,
  type PreviewPacing,
} from '@app/core';
import { TelegramBots } from './telegram-bots';
import { TELEGRAM_CHANNEL, parseTelegramTarget } from './telegram-normalize';
import { type TelegramSender, type TelegramSenderConfig } from './telegram.sender';

/** Bot API: a message's text is 1-4096 characters. */
const MAX_TEXT = 4096;

/**
 * Pacing from the Bot API's limits: a chat action shows for 5 seconds or until the bot's
 * next message (sendChatAction), so it is repeated every 4; a draft may change often
 * (its changes are animated); a group takes about 20 messages a minute, edits included
 * (Bot API FAQ), so its preview message is edited at most every 3 seconds.
 */
const PACING = {
  private: { typingEveryMs: 4_000, textEveryMs: 500 },
  group: { typingEveryMs: 4_000, textEveryMs: 3_000 },
} satisfies Record<string, PreviewPacing>;

type ChatTarget = NonNullable<ReturnType<typeof parseTelegramTarget>>;

/** Users' chat ids are positive; groups, supergroups and channels are negative or @names. */
const isPrivate = (target: ChatTarget) => typeof target.chatId === 'number' && target.chatId > 0;

const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text);

/**
 * Editing a preview into the text it already shows (two updates with the same text):
 * Telegram refuses with 400 "message is not modified", which is not a failure here.
 */
const notModified = (err: unknown) =>
  err instanceof TelegramError && /message is not modified/i.test(err.description);

/**
 * Liveness on Telegram (docs/telegram.md, "Liveness"): `sendChatAction` typing while the
 * model works; in `stream` mode the answer as it is written — `sendMessageDraft` in a
 * private chat (an ephemeral draft: it simply stops, the outbox's message is the
 * answer), elsewhere one preview message (sent silently) edited as the text grows and
 * deleted at the end, so the chat keeps only the outbox's answer.
 */
export class TelegramLiveness implements LivenessChannel {
  readonly channel = TELEGRAM_CHANNEL;
  private readonly bots: TelegramBots;

  constructor(
    config: TelegramSenderConfig,
    private readonly sender: Pick<TelegramSender, 'callUntyped'>,
    private readonly logger?: Logger,
  ) {
    this.bots = new TelegramBots(config);
  }

  modeFor(address: LivenessAddress): LivenessMode {
    const target = parseTelegramTarget(address.target);
    return (target && this.bots.get(target.bot)?.liveness) ?? 'off';
  }

  pacing(address: LivenessAddress): PreviewPacing {
    const target = parseTelegramTarget(address.target);
    return target && isPrivate(target) ? PACING.private : PACING.group;
  }

  open(address: LivenessAddress, options: PreviewOptions): ChatPreview {
    const target = parseTelegramTarget(address.target);
    if (!target) throw new Error(`"${address.target}" is not a Telegram target`);
    const chat = { chat_id: target.chatId };
    // The topic (forum threads) goes with what is sent; edits and deletes name the message only.
    const where = {
      ...chat,
      ...(target.topicId !== undefined ? { message_thread_id: target.topicId } : {}),
    };
    const call = (method: string, args: Record<string, unknown>, to: object = where) =>
      this.call(target.bot, method, { ...to, ...args });
    const typing = () => call('sendChatAction', { action: 'typing' }).then(() => undefined);
    if (isPrivate(target))
      return {
        typing,
        text: (soFar) =>
          call('sendMessageDraft', { draft_id: options.id, text: clip(soFar) }).then(
            () => undefined,
          ),
        // A draft is ephemeral: it stops when the bot's message arrives (or after 30 s).
        end: () => Promise.resolve(),
      };
    return new GroupPreview(
      typing,
      (method, args) => call(method, args, method === 'sendMessage' ? where : chat),
      options.track,
    );
  }

  async discard(preview: PreviewMessageRef): Promise<void> {
    const target = parseTelegramTarget(preview.target);
    if (!target) return;
    await this.call(target.bot, 'deleteMessage', {
      chat_id: target.chatId,
      message_id: Number(preview.message),
    }).catch((err: unknown) => {
      // Already gone (deleted by hand, or by an earlier sweep): what was wanted.
      if (!(err instanceof TelegramError && /message to delete not found/i.test(err.description)))
        throw err;
    });
  }

  private call(bot: string, method: string, args: Record<string, unknown>): Promise<unknown> {
    return this.sender.callUntyped(bot, method, args);
  }
}

/** A group's preview: one silent message, edited as the answer grows, deleted at the end. */
class GroupPreview implements ChatPreview {
  private messageId: number | undefined;

  constructor(
    readonly typing: () => Promise<void>,
    private readonly call: (method: string, args: Record<string, unknown>) => Promise<unknown>,
    private readonly track: PreviewOptions['track'],
  ) {}

  async text(soFar: string): Promise<void> {
    const text = clip(soFar);
    if (this.messageId === undefined) {
      const sent = (await this.call('sendMessage', { text, disable_notification: true })) as {
        message_id?: number;
      };
      this.messageId = sent.message_id;
      if (this.messageId !== undefined) await this.track?.opened(String(this.messageId));
      return;
    }
    await this.call('editMessageText', { message_id: this.messageId, text }).catch(
      (err: unknown) => {
        if (!notModified(err)) throw err;
      },
    );
  }

  async end(): Promise<void> {
    if (this.messageId === undefined) return;
    const messageId = this.messageId;
    this.messageId = undefined;
    await this.call('deleteMessage', { message_id: messageId });
    await this.track?.closed(String(messageId));
  }
}
