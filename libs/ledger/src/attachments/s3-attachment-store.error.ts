/** What to do about the failures an operator can fix. */
const HINTS = new Map([
  ['NoSuchBucket', 'the bucket does not exist: create it, or fix attachments.s3.bucket'],
  ['InvalidAccessKeyId', 'check attachments.s3.accessKeyId and secretAccessKey'],
  ['SignatureDoesNotMatch', 'check attachments.s3.accessKeyId and secretAccessKey'],
  [
    'AccessDenied',
    'these credentials may not use this bucket (without s3:ListBucket, a missing key reads as AccessDenied)',
  ],
  ['PermanentRedirect', 'the bucket is in another region: check attachments.s3.region'],
  ['AuthorizationHeaderMalformed', 'check attachments.s3.region'],
  ['TimeoutError', 'no answer within attachments.s3.timeout'],
]);

/** S3's error code (the SDK's error name), else the SDK's own (TimeoutError) or the socket's. */
export function s3ErrorCode(err: unknown): string {
  const name = err instanceof Error ? err.name : 'Error';
  return name === 'Error' ? ((err as { code?: string }).code ?? name) : name;
}

/**
 * A failed S3 call, naming the operation, the bucket and key, and the server — never a
 * bare SDK error, which says neither. `code` is S3's error code.
 */
export class S3AttachmentStoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'S3AttachmentStoreError';
  }

  /** `where`: `s3://<bucket>/<key> (<server>)`. */
  static of(operation: string, where: string, err: unknown): S3AttachmentStoreError {
    const code = s3ErrorCode(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const hint = HINTS.get(code);
    return new S3AttachmentStoreError(
      `S3 attachment store: ${operation} ${where} failed: ${code}` +
        `${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}` +
        (hint ? ` — ${hint}` : ''),
      code,
      { cause: err },
    );
  }
}
