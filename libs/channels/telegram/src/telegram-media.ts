import { z } from 'zod';
import { type AttachmentKind, type AttachmentRef } from '@app/core';
/** telegram-normalize's TELEGRAM_CHANNEL (not imported: that module imports this one). */
const TELEGRAM_CHANNEL = 'telegram';

/** core.telegram.org/bots/api#photosize, #document, #voice, #audio, #video, #videonote. */
const fileSchema = z.looseObject({
  file_id: z.string().min(1),
  file_unique_id: z.string().optional(),
  file_size: z.number().int().nonnegative().optional(),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  width: z.number().optional(),
});
type TelegramFile = z.infer<typeof fileSchema>;

const mediaSchema = z.looseObject({
  photo: z.array(fileSchema).optional(),
  document: fileSchema.optional(),
  voice: fileSchema.optional(),
  audio: fileSchema.optional(),
  video: fileSchema.optional(),
  video_note: fileSchema.optional(),
});

/** Telegram names no type for these; the Bot API documents what they are. */
const IMPLIED_TYPES: Partial<Record<AttachmentKind, string>> = {
  photo: 'image/jpeg',
  voice: 'audio/ogg',
  video: 'video/mp4',
};

function refOf(id: string, bot: string, kind: AttachmentKind, file: TelegramFile): AttachmentRef {
  return {
    id,
    channel: TELEGRAM_CHANNEL,
    source: bot,
    kind,
    name: file.file_name ?? null,
    mime: file.mime_type ?? IMPLIED_TYPES[kind] ?? null,
    size: file.file_size ?? null,
    fileId: file.file_id,
  };
}

/**
 * The files a message carries, as references its event keeps (ids `<event id>#<n>`). A
 * photo comes as several sizes of one picture: the largest is the one a person sees.
 * Telegram puts one file on a message (an album is several messages); a video note is
 * a round video.
 */
export function telegramAttachments(
  message: unknown,
  bot: string,
  eventExternalId: string,
): AttachmentRef[] {
  const parsed = mediaSchema.safeParse(message);
  if (!parsed.success) return [];
  const media = parsed.data;
  const found: Array<[AttachmentKind, TelegramFile]> = [];
  const largest = media.photo?.reduce<TelegramFile | undefined>(
    (best, size) =>
      !best || (size.file_size ?? size.width ?? 0) > (best.file_size ?? best.width ?? 0)
        ? size
        : best,
    undefined,
  );
  if (largest) found.push(['photo', largest]);
  if (media.document) found.push(['document', media.document]);
  if (media.voice) found.push(['voice', media.voice]);
  if (media.audio) found.push(['audio', media.audio]);
  if (media.video) found.push(['video', media.video]);
  if (media.video_note) found.push(['video', media.video_note]);
  return found.map(([kind, file], i) => refOf(`${eventExternalId}#${i}`, bot, kind, file));
}
