import { z } from 'zod';
import { downloadCapped } from '@app/channels/core';
import { type AppConfig } from '@app/config';
import {
  AttachmentFetchError,
  type AttachmentFetcher,
  type AttachmentKind,
  type AttachmentRef,
} from '@app/core';
import { SlackWorkspaces } from './slack-workspaces';

/** docs.slack.dev/reference/objects/file-object: the fields a download needs. */
const slackFileSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  title: z.string().nullish(),
  mimetype: z.string().nullish(),
  filetype: z.string().nullish(),
  size: z.number().int().nonnegative().nullish(),
  mode: z.string().nullish(),
  url_private: z.string().nullish(),
  url_private_download: z.string().nullish(),
  subtype: z.string().nullish(),
});
const filesSchema = z.array(z.unknown());

function kindOf(file: z.infer<typeof slackFileSchema>): AttachmentKind {
  const mime = file.mimetype ?? '';
  // A voice clip recorded in Slack is an audio file with subtype slack_audio.
  if (file.subtype === 'slack_audio') return 'voice';
  if (mime.startsWith('image/')) return 'photo';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime.startsWith('video/')) return 'video';
  return 'file';
}

/**
 * The files of a message event (`files` on a `file_share` message or an app_mention)
 * as references: ids `<event id>#<n>`, the private download URL the bot token opens.
 * A file whose object is incomplete (`file_access: check_file_info`, or a tombstone of a
 * deleted file) has no URL and is kept anyway, so the reply can say it was not readable.
 */
export function slackAttachments(
  files: unknown,
  workspace: string,
  eventExternalId: string,
): AttachmentRef[] {
  const list = filesSchema.safeParse(files);
  if (!list.success) return [];
  return list.data.flatMap((raw, i) => {
    const parsed = slackFileSchema.safeParse(raw);
    if (!parsed.success) return [];
    const file = parsed.data;
    const url = file.url_private_download ?? file.url_private ?? undefined;
    return [
      {
        id: `${eventExternalId}#${i}`,
        channel: 'slack',
        source: workspace,
        kind: kindOf(file),
        name: file.name ?? file.title ?? null,
        mime: file.mimetype ?? null,
        size: file.size ?? null,
        ...(url ? { url } : {}),
      },
    ];
  });
}

/**
 * Downloads a Slack file with the workspace's bot token (docs.slack.dev, "Working with
 * files": url_private needs `Authorization: Bearer <token>` and the files:read scope).
 */
export class SlackFileFetcher implements AttachmentFetcher {
  readonly channel = 'slack';
  private readonly workspaces: SlackWorkspaces;

  /** Where the bot token may be sent: Slack's file host, or the configured API's (a loopback in tests). */
  private readonly origins: Set<string>;

  constructor(config: Pick<AppConfig, 'slack'>) {
    this.workspaces = new SlackWorkspaces(config);
    this.origins = new Set(['https://files.slack.com', new URL(config.slack.apiUrl).origin]);
  }

  async fetch(
    ref: AttachmentRef,
    options: { maxBytes: number; signal: AbortSignal },
  ): Promise<Uint8Array> {
    const ws = this.workspaces.get(ref.source);
    if (!ws)
      throw new AttachmentFetchError(
        `no Slack workspace named "${ref.source}"`,
        'unavailable',
        false,
      );
    if (!ref.url) throw new AttachmentFetchError('the file has no private URL', 'not_found', false);
    // The URL came in a signed event, but the token is a bearer secret: it goes to Slack only.
    let origin: string;
    try {
      origin = new URL(ref.url).origin;
    } catch {
      throw new AttachmentFetchError('the file URL is not a URL', 'not_found', false);
    }
    if (!this.origins.has(origin))
      throw new AttachmentFetchError(`the file is not on Slack (${origin})`, 'not_found', false);
    if (ref.size !== null && ref.size > options.maxBytes)
      throw new AttachmentFetchError(`${ref.size} bytes`, 'too_large', false);
    return downloadCapped(ref.url, {
      headers: { authorization: `Bearer ${ws.botToken}` },
      maxBytes: options.maxBytes,
      signal: options.signal,
      what: `Slack file ${ref.id}`,
    });
  }
}
