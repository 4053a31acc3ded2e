import { z } from 'zod';
import { byteSize, durationMs } from './config-primitives';

/**
 * Files in chat (docs/telegram.md, docs/slack.md, docs/agent.md): where their bytes are
 * kept, how large they may be, and how voice is transcribed.
 */
export const attachmentsConfigSchema = z
  .strictObject({
    store: z
      .enum(['postgres', 'local'])
      .default('postgres')
      .describe(
        '`postgres`: a table in the ledger database (nothing else to run or back up); `local`: files under `attachments.dir` (one machine, or a shared volume).',
      ),
    dir: z
      .string()
      .min(1)
      .default('./data/attachments')
      .describe('The folder of the `local` store, relative to the working directory.'),
    maxBytes: byteSize
      .default(20 * 1024 * 1024)
      .describe(
        'Largest file fetched at all (Telegram bots can download at most 20 MB); a larger one gets a reply saying so and is not downloaded.',
      ),
    imageMaxBytes: byteSize
      .default(10 * 1024 * 1024)
      .describe('Largest image given to the model as an image input.'),
    audioMaxBytes: byteSize
      .default(20 * 1024 * 1024)
      .describe('Largest voice note or audio file transcribed (the audio API takes 25 MB).'),
    textMaxChars: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe(
        'Characters of a text file given to the model; longer files are cut there, and the model is told so.',
      ),
    fetchTimeout: durationMs.default(60_000).describe("One file download's time limit."),
    transcriptionModel: z
      .string()
      .min(1)
      .default('whisper-1')
      .describe(
        'The model `audio.transcriptions.create` is called with (whisper-1, gpt-4o-transcribe, …).',
      ),
  })
  .prefault({});
export type AttachmentsConfig = z.infer<typeof attachmentsConfigSchema>;
