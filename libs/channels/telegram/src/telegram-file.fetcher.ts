import { Telegram, TelegramError } from 'telegraf';
import { downloadCapped } from '@app/channels/core';
import { type AppConfig } from '@app/config';
import { AttachmentFetchError, type AttachmentFetcher, type AttachmentRef } from '@app/core';
import { TelegramBots } from './telegram-bots';
import { TELEGRAM_CHANNEL } from './telegram-normalize';

/**
 * Downloads a Telegram file the way the Bot API documents it (#getfile): getFile turns
 * the message's `file_id` into a `file_path`, valid for an hour, then a GET of
 * `<apiRoot>/file/bot<token>/<file_path>`. The file_id itself stays valid, so a fetch
 * that failed (or a worker that died mid-way) simply starts again from getFile.
 */
export class TelegramFileFetcher implements AttachmentFetcher {
  readonly channel = TELEGRAM_CHANNEL;
  private readonly bots: TelegramBots;

  constructor(private readonly config: Pick<AppConfig, 'telegram'>) {
    this.bots = new TelegramBots(config);
  }

  async fetch(
    ref: AttachmentRef,
    options: { maxBytes: number; signal: AbortSignal },
  ): Promise<Uint8Array> {
    const bot = this.bots.get(ref.source);
    if (!bot)
      throw new AttachmentFetchError(`no Telegram bot named "${ref.source}"`, 'unavailable', false);
    if (!ref.fileId) throw new AttachmentFetchError('no file_id', 'not_found', false);
    const client = new Telegram(bot.token, { apiRoot: this.config.telegram.apiRoot });
    let link: URL;
    try {
      const file = await client.callApi(
        'getFile',
        { file_id: ref.fileId },
        // Telegraf types its signal with the abort-controller shim; Node's is the same shape.
        { signal: options.signal as never },
      );
      if (file.file_size !== undefined && file.file_size > options.maxBytes)
        throw new AttachmentFetchError(`${file.file_size} bytes`, 'too_large', false);
      if (!file.file_path)
        throw new AttachmentFetchError('getFile gave no file_path', 'not_found', false);
      link = await client.getFileLink(file);
    } catch (err) {
      throw classifyGetFileError(err);
    }
    return downloadCapped(link.href, {
      maxBytes: options.maxBytes,
      signal: options.signal,
      what: `Telegram file ${ref.id}`,
    });
  }
}

/** getFile's refusals: bots may download files of at most 20 MB ("file is too big"). */
function classifyGetFileError(err: unknown): AttachmentFetchError {
  if (err instanceof AttachmentFetchError) return err;
  if (err instanceof TelegramError) {
    const what = `getFile: ${err.code} ${err.description}`;
    if (/file is too big/i.test(err.description))
      return new AttachmentFetchError(what, 'too_large', false);
    if (err.code === 429 || err.code >= 500)
      return new AttachmentFetchError(what, 'unavailable', true);
    return new AttachmentFetchError(what, 'not_found', false);
  }
  return new AttachmentFetchError(
    `getFile: ${err instanceof Error ? err.message : String(err)}`,
    'unavailable',
    true,
  );
}
