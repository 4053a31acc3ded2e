import { z } from 'zod';
import { byteSize, durationMs } from './config-primitives';

/**
 * The `s3` store's bucket and connection: AWS S3 or any S3-compatible server (MinIO,
 * Cloudflare R2, Backblaze B2…). Keys may come from the environment as `${NAME}`, like
 * any value of the config file.
 */
const s3ConfigSchema = z
  .strictObject({
    bucket: z
      .string()
      .min(1)
      .optional()
      .describe('The bucket the `s3` store writes to (required with `store: s3`); it must exist.'),
    prefix: z
      .string()
      .default('')
      .describe(
        'Prepended to every key (`workgate/` keeps `workgate/blobs/<sha256>` and `workgate/meta/<id>.json`), so the bucket can hold other things.',
      ),
    region: z
      .string()
      .min(1)
      .default('us-east-1')
      .describe('The region requests are signed for (R2: `auto`; MinIO takes any).'),
    endpoint: z
      .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
      .optional()
      .describe(
        "The server's URL for anything but AWS (`http://minio:9000`, `https://<account>.r2.cloudflarestorage.com`); absent: AWS S3 in `region`.",
      ),
    forcePathStyle: z
      .boolean()
      .default(false)
      .describe(
        '`true`: the bucket in the path (`<endpoint>/<bucket>/<key>`), as MinIO needs; `false`: in the host name (`<bucket>.<endpoint host>`).',
      ),
    accessKeyId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The access key (e.g. `${S3_ACCESS_KEY_ID}`); absent, with `secretAccessKey` absent too: the AWS SDK's default chain (`AWS_ACCESS_KEY_ID`, `~/.aws`, an instance or pod role).",
      ),
    secretAccessKey: z
      .string()
      .min(1)
      .optional()
      .describe('The secret for `accessKeyId` (e.g. `${S3_SECRET_ACCESS_KEY}`).'),
    timeout: durationMs
      .default(60_000)
      .describe(
        "One S3 request's time limit, connecting to answered (the SDK tries each call up to 3 times).",
      ),
  })
  .superRefine((s3, ctx) => {
    if ((s3.accessKeyId === undefined) !== (s3.secretAccessKey === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [s3.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'],
        message: 'give both accessKeyId and secretAccessKey, or neither (the default AWS chain)',
      });
  })
  .prefault({});
export type S3AttachmentsConfig = z.infer<typeof s3ConfigSchema>;

/**
 * Files in chat (docs/telegram.md, docs/slack.md, docs/agent.md): where their bytes are
 * kept, how large they may be, and how voice is transcribed.
 */
export const attachmentsConfigSchema = z
  .strictObject({
    store: z
      .enum(['postgres', 'local', 's3'])
      .default('postgres')
      .describe(
        '`postgres`: a table in the ledger database (nothing else to run or back up); `local`: files under `attachments.dir` (one machine, or a shared volume); `s3`: a bucket of AWS S3 or an S3-compatible server (`attachments.s3`).',
      ),
    dir: z
      .string()
      .min(1)
      .default('./data/attachments')
      .describe('The folder of the `local` store, relative to the working directory.'),
    s3: s3ConfigSchema,
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
  .superRefine((attachments, ctx) => {
    if (attachments.store === 's3' && attachments.s3.bucket === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['s3', 'bucket'],
        message: '`store: s3` needs `attachments.s3.bucket`, the bucket to keep files in',
      });
  })
  .prefault({});
export type AttachmentsConfig = z.infer<typeof attachmentsConfigSchema>;
