import type * as S3 from '@aws-sdk/client-s3';
import { type S3AttachmentsConfig } from '@app/config';
import { type AttachmentStore, type StoredAttachment } from '@app/core';
import { assertIntact, describeAttachment } from './attachment-digest.util';
import { fileNameOf } from './attachment-file-name.util';
import { S3AttachmentStoreError, s3ErrorCode } from './s3-attachment-store.error';

/**
 * The SDK, loaded on first use: loaded with this module it cost every process that loads
 * the ledger — the gateway, the worker, each CLI command, `--help` included — about
 * 200 ms at start-up, S3 configured or not.
 */
let sdk: Promise<typeof S3> | undefined;
const loadSdk = (): Promise<typeof S3> => (sdk ??= import('@aws-sdk/client-s3'));

/** NoSuchKey from a GET; a HEAD has no body, so the SDK names its 404 NotFound. */
const isMissing = (err: unknown) => ['NoSuchKey', 'NotFound'].includes(s3ErrorCode(err));

/**
 * One client per store. `WHEN_REQUIRED`: since @aws-sdk/client-s3 3.729 every PutObject
 * carries CRC32 checksum headers by default (and a stream body goes aws-chunked with a
 * checksum trailer), which S3-compatible servers refused: Cloudflare R2 with 501
 * NotImplemented (aws/aws-sdk-js-v3#6810), Backblaze B2 with InvalidArgument
 * (boto/s3transfer#327). Nothing is lost without them: the signed `x-amz-content-sha256`
 * already makes the server check the uploaded bytes, and `get` checks their SHA-256.
 */
async function s3ClientFor(settings: S3AttachmentsConfig): Promise<S3.S3Client> {
  const { accessKeyId, secretAccessKey } = settings;
  const { S3Client } = await loadSdk();
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // Absent: the SDK's default chain (environment, ~/.aws, an instance or pod role).
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK waits forever by default; a hung server must fail the step, which retries.
    requestHandler: {
      connectionTimeout: Math.min(10_000, settings.timeout),
      requestTimeout: settings.timeout,
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * The attachment store in an S3 bucket (`attachments.store: s3`; AWS S3, MinIO, R2…),
 * laid out like the local store: the bytes at `<prefix>blobs/<sha256>` (content-addressed,
 * so the same file sent twice is kept once), the metadata at `<prefix>meta/<id>.json`.
 * The metadata is written last, so an id that reads back always has its bytes; it is
 * written with `If-None-Match: *`, so of two writers racing on one id (a step re-run
 * while the first run still stores) the first wins and the second reads it back.
 */
export class S3AttachmentStore implements AttachmentStore {
  private readonly bucket: string;
  private connected?: Promise<{ client: S3.S3Client; s3: typeof S3 }>;

  constructor(
    private readonly settings: S3AttachmentsConfig,
    /** A client of the caller's (a test's); by default one of `s3ClientFor`, on first use. */
    private readonly client?: S3.S3Client,
  ) {
    if (!settings.bucket) throw new Error('attachments.s3.bucket is required with store: s3');
    this.bucket = settings.bucket;
  }

  /** The client and the SDK's commands, both loaded on the first call. */
  private sdk(): Promise<{ client: S3.S3Client; s3: typeof S3 }> {
    return (this.connected ??= (async () => ({
      client: this.client ?? (await s3ClientFor(this.settings)),
      s3: await loadSdk(),
    }))());
  }

  async put(
    id: string,
    data: Uint8Array,
    meta: { mime: string; name: string },
  ): Promise<StoredAttachment> {
    const existing = await this.readMeta(id);
    if (existing) return existing;
    const stored = describeAttachment(id, data, meta);
    const blob = this.blobKey(stored.sha256);
    // Bytes already there (the same file under another id) are not uploaded again.
    if (!(await this.exists(blob))) {
      const upload = { Bucket: this.bucket, Key: blob, Body: data };
      const { client, s3 } = await this.sdk();
      await client.send(new s3.PutObjectCommand(upload)).catch((err: unknown) => {
        throw this.failure('PutObject', blob, err);
      });
    }
    return this.writeMetaOnce(stored);
  }

  async get(id: string): Promise<{ meta: StoredAttachment; data: Uint8Array } | null> {
    const meta = await this.readMeta(id);
    if (!meta) return null;
    const key = this.blobKey(meta.sha256);
    const data = await this.read(key);
    if (!data) throw new Error(`attachment ${id}: its bytes are missing at ${this.where(key)}`);
    assertIntact(meta, data);
    return { meta, data };
  }

  private async writeMetaOnce(stored: StoredAttachment): Promise<StoredAttachment> {
    const key = this.metaKey(stored.id);
    // S3 answers 409 ConditionalRequestConflict while a conflicting write to the key is
    // still in flight, and asks for a retry; the retry then sees the winner (412). Past
    // three, the error fails the step, which the engine retries later.
    const { client, s3 } = await this.sdk();
    for (let attempt = 1; ; attempt++) {
      try {
        await client.send(
          new s3.PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: JSON.stringify(stored),
            ContentType: 'application/json',
            IfNoneMatch: '*',
          }),
        );
        return stored;
      } catch (err) {
        const code = s3ErrorCode(err);
        if (code === 'ConditionalRequestConflict' && attempt < 3) continue;
        const theirs = code === 'PreconditionFailed' ? await this.readMeta(stored.id) : null;
        if (theirs) return theirs;
        throw this.failure('PutObject', key, err);
      }
    }
  }

  private async readMeta(id: string): Promise<StoredAttachment | null> {
    const key = this.metaKey(id);
    const bytes = await this.read(key);
    if (!bytes) return null;
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8')) as StoredAttachment;
    } catch (err) {
      throw new Error(`attachment ${id}: unreadable metadata at ${this.where(key)}`, {
        cause: err,
      });
    }
  }

  /** The object's bytes; null when there is no such key (a missing bucket is an error). */
  private async read(key: string): Promise<Uint8Array | null> {
    const { client, s3 } = await this.sdk();
    try {
      const answer = await client.send(new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await answer.Body?.transformToByteArray()) ?? new Uint8Array();
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.failure('GetObject', key, err);
    }
  }

  private async exists(key: string): Promise<boolean> {
    const { client, s3 } = await this.sdk();
    try {
      await client.send(new s3.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      // A HEAD's 404 says no more: a missing bucket then fails the PutObject that follows.
      if (isMissing(err)) return false;
      throw this.failure('HeadObject', key, err);
    }
  }

  private failure(operation: string, key: string, err: unknown): S3AttachmentStoreError {
    return S3AttachmentStoreError.of(operation, this.where(key), err);
  }

  private where(key: string): string {
    const server = this.settings.endpoint ?? `AWS S3 ${this.settings.region}`;
    return `s3://${this.bucket}/${key} (${server})`;
  }

  private blobKey(sha256: string): string {
    return `${this.settings.prefix}blobs/${sha256}`;
  }

  private metaKey(id: string): string {
    return `${this.settings.prefix}meta/${fileNameOf(id)}.json`;
  }
}
