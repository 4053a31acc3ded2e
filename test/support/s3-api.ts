import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

/** One request as the loopback S3 received it, with what it answered. */
export interface S3ApiRequest {
  method: string;
  addressing: 'path' | 'virtual-hosted';
  bucket: string;
  key: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  /** The object bytes sent (aws-chunked framing removed). */
  body: Buffer;
  /** The access key of the signature, when there was one. */
  accessKeyId?: string;
  status: number;
  /** S3's error code, when it answered with one. */
  code?: string;
  at: number;
}

export interface S3StoredObject {
  data: Buffer;
  contentType: string;
  etag: string;
}

const ERROR_MESSAGES = new Map([
  ['AccessDenied', 'Access Denied'],
  ['InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'],
  [
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  ],
  [
    'XAmzContentSHA256Mismatch',
    "The provided 'x-amz-content-sha256' header does not match what was computed.",
  ],
  ['NoSuchBucket', 'The specified bucket does not exist'],
  ['NoSuchKey', 'The specified key does not exist.'],
  ['PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'],
  ['NotImplemented', 'A header you provided implies functionality that is not implemented'],
]);

/** What @smithy/signature-v4 hands a hash as key (its `SourceData`). */
type SourceData = string | ArrayBuffer | ArrayBufferView;

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape @smithy/signature-v4 takes. */
class NodeSha256 {
  private hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh() {
    if (this.secret === undefined) return createHash('sha256');
    const secret = this.secret;
    const key = ArrayBuffer.isView(secret)
      ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
      : typeof secret === 'string'
        ? secret
        : new Uint8Array(secret);
    return createHmac('sha256', key);
  }
}

/**
 * `aws-chunked` bodies (STREAMING-… payloads): `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n`
 * until a zero-size chunk, then trailer lines (a trailing checksum). Chunk signatures are
 * not checked: the store is configured never to send this framing (requestChecksumCalculation
 * WHEN_REQUIRED), and its tests assert it does not; this only keeps a client that does
 * from being misread.
 */
function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error('aws-chunked: a chunk header without its line end');
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1').split(';')[0]!, 16);
    if (Number.isNaN(size)) throw new Error('aws-chunked: an unreadable chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/**
 * A loopback S3-compatible server for the real `@aws-sdk/client-s3`: PutObject (with
 * `If-None-Match: *` → 412 PreconditionFailed when the key exists), GetObject, HeadObject
 * (404 with no body, as S3 does), path-style (`/<bucket>/<key>`) and virtual-hosted
 * (`<bucket>.<virtualHost>`) addressing. Every request must be SigV4-signed by a known
 * access key: the signature is re-computed with @smithy/signature-v4 over what arrived
 * (403 InvalidAccessKeyId / SignatureDoesNotMatch otherwise), and the signed payload hash
 * is checked against the body (400 XAmzContentSHA256Mismatch), as S3 does. Errors are
 * S3's XML (`<Error><Code>…</Code><Message>…</Message>…</Error>`). Records every request.
 */
export class S3ApiServer {
  readonly requests: S3ApiRequest[] = [];
  /** bucket → key → object. */
  readonly buckets = new Map<string, Map<string, S3StoredObject>>();
  /** access key id → secret. */
  readonly credentials = new Map<string, string>();
  /** Host names `<bucket>.<virtualHost>` address a bucket virtual-hosted style. */
  readonly virtualHost = 's3.loopback.test';
  /**
   * Awaited after a request is authenticated and before it is applied: a test holds
   * writes here to make them race (both past their existence checks), or never answers.
   */
  beforeApply?: (request: S3ApiRequest) => void | Promise<void>;
  private server?: Server;
  private nextRequestId = 0;

  /** The endpoint to configure. */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  createBucket(name: string): this {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
    return this;
  }

  addCredentials(accessKeyId: string, secretAccessKey: string): this {
    this.credentials.set(accessKeyId, secretAccessKey);
    return this;
  }

  object(bucket: string, key: string): S3StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** Writes an object behind the API's back (a tampered or replaced file). */
  setObject(bucket: string, key: string, data: Buffer, contentType = 'application/octet-stream') {
    this.buckets.get(bucket)!.set(key, { data, contentType, etag: etagOf(data) });
  }

  /** Recorded requests of one operation (`PUT`, `GET`, `HEAD`), optionally for keys matching. */
  on(method: string, key?: RegExp): S3ApiRequest[] {
    return this.requests.filter((r) => r.method === method && (!key || key.test(r.key)));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks), res).catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        });
      });
    });
    // Keep-alive sockets of a client never closed must not hold close() open.
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://s3');
    const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
    const virtual = hostname.endsWith(`.${this.virtualHost}`);
    const path = url.pathname.slice(1);
    const [bucket, key] = virtual
      ? [hostname.slice(0, -this.virtualHost.length - 1), decodeURIComponent(path)]
      : [
          decodeURIComponent(path.split('/')[0]!),
          decodeURIComponent(path.split('/').slice(1).join('/')),
        ];
    const chunked =
      /aws-chunked/.test(String(req.headers['content-encoding'] ?? '')) ||
      String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    const request: S3ApiRequest = {
      method: req.method ?? 'GET',
      addressing: virtual ? 'virtual-hosted' : 'path',
      bucket,
      key,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: chunked ? decodeAwsChunked(raw) : raw,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(request);
    const answer = await this.answer(request, req, url, raw, chunked);
    request.status = answer.status;
    request.code = answer.code;
    const headers: Record<string, string> = {
      'x-amz-request-id': `LOOPBACK${++this.nextRequestId}`,
      ...answer.headers,
    };
    if (answer.code) {
      // HEAD answers carry no body, so the SDK knows only the status (NotFound, Forbidden).
      const xml = request.method === 'HEAD' ? '' : errorXml(answer.code, request, answer.condition);
      res.writeHead(answer.status, { ...headers, 'content-type': 'application/xml' });
      res.end(xml);
      return;
    }
    res.writeHead(answer.status, headers);
    res.end(request.method === 'HEAD' ? undefined : answer.body);
  }

  private async answer(
    request: S3ApiRequest,
    req: IncomingMessage,
    url: URL,
    raw: Buffer,
    chunked: boolean,
  ): Promise<Answer> {
    const refused = await this.authenticate(request, req, url, raw, chunked);
    if (refused) return refused;
    const objects = this.buckets.get(request.bucket);
    if (!objects) return { status: 404, code: 'NoSuchBucket' };
    await this.beforeApply?.(request);
    const existing = objects.get(request.key);
    switch (request.method) {
      case 'PUT': {
        if (url.searchParams.size > (url.searchParams.has('x-id') ? 1 : 0))
          return { status: 501, code: 'NotImplemented' };
        if (req.headers['if-none-match'] === '*' && existing)
          return { status: 412, code: 'PreconditionFailed', condition: 'If-None-Match' };
        const data = request.body;
        const stored = {
          data,
          contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
          etag: etagOf(data),
        };
        objects.set(request.key, stored);
        return { status: 200, headers: { etag: stored.etag } };
      }
      case 'GET':
      case 'HEAD': {
        if (!existing) return { status: 404, code: 'NoSuchKey' };
        return {
          status: 200,
          headers: {
            'content-type': existing.contentType,
            'content-length': String(existing.data.byteLength),
            etag: existing.etag,
            'last-modified': new Date(request.at).toUTCString(),
          },
          body: existing.data,
        };
      }
      default:
        return { status: 501, code: 'NotImplemented' };
    }
  }

  /** SigV4 as S3 checks it; undefined when the request may go on. */
  private async authenticate(
    request: S3ApiRequest,
    req: IncomingMessage,
    url: URL,
    raw: Buffer,
    chunked: boolean,
  ): Promise<Answer | undefined> {
    const match = AUTHORIZATION.exec(String(req.headers.authorization ?? ''));
    if (!match) return { status: 403, code: 'AccessDenied' };
    const [, accessKeyId, , region, signedHeaders, signature] = match;
    request.accessKeyId = accessKeyId;
    const secretAccessKey = this.credentials.get(accessKeyId!);
    if (secretAccessKey === undefined) return { status: 403, code: 'InvalidAccessKeyId' };
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    if (!chunked && payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== bodyHash)
      return { status: 400, code: 'XAmzContentSHA256Mismatch' };
    const names = signedHeaders!.split(';');
    const signer = new SignatureV4({
      credentials: { accessKeyId: accessKeyId!, secretAccessKey },
      region: region!,
      service: 's3',
      sha256: NodeSha256,
      // S3 signs the path as sent, without a second encoding (the SDK's S3 signer does too).
      uriEscapePath: false,
    });
    const resigned = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: String(req.headers.host ?? '').replace(/:\d+$/, ''),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: Object.fromEntries(names.map((name) => [name, String(req.headers[name] ?? '')])),
        body: raw,
      },
      {
        signingDate: amzDate(String(req.headers['x-amz-date'] ?? '')),
        signableHeaders: new Set(names),
      },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(resigned.headers.authorization ?? '')?.[1];
    if (expected !== signature) return { status: 403, code: 'SignatureDoesNotMatch' };
    return undefined;
  }
}

interface Answer {
  status: number;
  code?: string;
  condition?: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/** `20250101T120000Z` → the Date it names. */
function amzDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return new Date(0);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y!, mo! - 1, d, h, mi, s));
}

function etagOf(data: Buffer): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

const xmlText = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function errorXml(code: string, request: S3ApiRequest, condition?: string): string {
  const where =
    code === 'NoSuchBucket'
      ? `<BucketName>${xmlText(request.bucket)}</BucketName>`
      : code === 'NoSuchKey'
        ? `<Key>${xmlText(request.key)}</Key>`
        : code === 'InvalidAccessKeyId'
          ? `<AWSAccessKeyId>${xmlText(request.accessKeyId ?? '')}</AWSAccessKeyId>`
          : condition
            ? `<Condition>${condition}</Condition>`
            : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${xmlText(ERROR_MESSAGES.get(code) ?? code)}</Message>` +
    `${where}<RequestId>LOOPBACK${request.at}</RequestId></Error>`
  );
}
