import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, type AgentOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { TelegramFileFetcher } from '@app/channels/telegram';
import { SlackFileFetcher } from '@app/channels/slack';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type S3AttachmentsConfig } from '@app/config';
import { AttachmentFetchError, type AttachmentStore } from '@app/core';
import {
  attachmentStoreFor,
  LocalDirectoryAttachmentStore,
  S3AttachmentStore,
  S3AttachmentStoreError,
} from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { SlackApiServer } from '@test/slack-api';
import { S3ApiServer } from '@test/s3-api';
import { TelegramApiServer } from '@test/telegram-api';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const TOKEN = '100000031:TEST_ONLY-store';
const BUCKET = 'wg-attachments';
const S3_KEY = 'TESTONLYACCESSKEY01';
const S3_SECRET = 'TEST_ONLY/s3-secret-access-key';

/**
 * The attachment stores over real storage (a migrated PostgreSQL schema, a temporary
 * folder, the real AWS SDK against a loopback S3): a put is idempotent by id, bytes read
 * back are checked against their hash, and the channel fetchers never hold more than
 * the limit.
 */
describe('attachment stores and fetchers', () => {
  let db: TestSchema;
  let dir: string;
  let s3: S3ApiServer;
  let stores: Array<[string, AttachmentStore]>;

  /** The `attachments.s3` block for the loopback server, as an operator writes it for MinIO. */
  const s3Settings = (overrides: Partial<S3AttachmentsConfig> = {}): S3AttachmentsConfig => ({
    bucket: BUCKET,
    prefix: 'workgate/',
    region: 'us-east-1',
    timeout: 10_000,
    endpoint: s3.url,
    forcePathStyle: true,
    accessKeyId: S3_KEY,
    secretAccessKey: S3_SECRET,
    ...overrides,
  });
  const s3StoreWith = (overrides: Partial<S3AttachmentsConfig> = {}) =>
    attachmentStoreFor(
      testConfig({
        schema: db.schema,
        prefix: 'unused',
        overrides: { attachments: { store: 's3', s3: s3Settings(overrides) } },
      }),
    );

  beforeAll(async () => {
    db = await createTestSchema('attachments');
    dir = mkdtempSync(join(tmpdir(), 'wg-store-'));
    s3 = await new S3ApiServer().start();
    s3.createBucket(BUCKET).addCredentials(S3_KEY, S3_SECRET);
    const config = testConfig({ schema: db.schema, prefix: 'unused' });
    stores = [
      ['postgres', attachmentStoreFor(config)],
      ['local', new LocalDirectoryAttachmentStore(dir)],
      ['s3', s3StoreWith()],
    ];
  });

  afterAll(async () => {
    await s3?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['postgres', 'local', 's3'])(
    '%s: put keeps one copy per id; get returns the same bytes',
    async (kind) => {
      const store = stores.find(([k]) => k === kind)![1];
      const data = new TextEncoder().encode(`hello from ${kind}`);
      const id = `tg:1#0/../${kind}`;
      const first = await store.put(id, data, { mime: 'text/plain', name: 'hello.txt' });
      expect(first).toEqual({
        id,
        sha256: sha256(data),
        mime: 'text/plain',
        size: data.byteLength,
        name: 'hello.txt',
      });
      // A re-run of the step stores again: the first copy stays, nothing is duplicated.
      const again = await store.put(id, new TextEncoder().encode('other bytes'), {
        mime: 'x/y',
        name: 'z',
      });
      expect(again).toEqual(first);
      const got = await store.get(id);
      expect(Buffer.from(got!.data).toString()).toBe(`hello from ${kind}`);
      expect(got!.meta).toEqual(first);
      expect(await store.get('missing')).toBeNull();
    },
  );

  it('postgres: one row per id, and bytes that no longer match their hash are refused', async () => {
    const [postgres] = stores[0]!;
    expect(postgres).toBe('postgres');
    const store = stores[0]![1];
    await store.put('tampered', new Uint8Array([1, 2, 3]), { mime: 'a/b', name: 'n' });
    await db.query(`UPDATE "Attachment" SET data = '\\x010204' WHERE id = 'tampered'`);
    await expect(store.get('tampered')).rejects.toThrow(/hash to/);
    const [row] = await db.query<any>(
      `SELECT count(*)::int AS n FROM "Attachment" WHERE id LIKE 'tg:1#0%'`,
    );
    expect(row.n).toBe(1);
  });

  it('local: the file name cannot leave the folder, and a changed blob is refused', async () => {
    const store = stores[1]![1];
    const meta = await store.put('../escape', new Uint8Array([9]), { mime: 'a/b', name: 'n' });
    expect(readdirSync(join(dir, 'meta')).every((f) => !f.includes('/'))).toBe(true);
    writeFileSync(join(dir, 'blobs', meta.sha256), Buffer.from([8]));
    await expect(store.get('../escape')).rejects.toThrow(/hash to/);
  });

  it('s3: bytes at <prefix>blobs/<sha256>, metadata at <prefix>meta/<id>.json after them, SigV4-signed, no CRC headers', async () => {
    const store = stores.find(([k]) => k === 's3')![1];
    expect(store).toBeInstanceOf(S3AttachmentStore);
    const data = Buffer.from('layout bytes');
    const from = s3.requests.length;
    const meta = await store.put('tg:7#0', data, { mime: 'text/plain', name: 'a.txt' });
    const blobKey = `workgate/blobs/${sha256(data)}`;
    const metaKey = 'workgate/meta/tg.3a.7.23.0.json';
    expect(s3.object(BUCKET, blobKey)!.data.equals(data)).toBe(true);
    expect(JSON.parse(s3.object(BUCKET, metaKey)!.data.toString())).toEqual(meta);
    const puts = s3.requests.slice(from).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.key)).toEqual([blobKey, metaKey]);
    expect(puts[1]!.headers['if-none-match']).toBe('*');
    expect(puts[0]!.headers['if-none-match']).toBeUndefined();
    for (const r of s3.requests.slice(from)) {
      expect(r).toMatchObject({ addressing: 'path', bucket: BUCKET, accessKeyId: S3_KEY });
      // WHEN_REQUIRED: no flexible-checksum headers and no aws-chunked framing.
      expect(Object.keys(r.headers).filter((h) => h.startsWith('x-amz-checksum'))).toEqual([]);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
    // The same bytes under another id: a HEAD finds the blob, only the metadata is written.
    const before = s3.requests.length;
    await store.put('tg:7#1', data, { mime: 'text/plain', name: 'b.txt' });
    expect(s3.requests.slice(before).map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 404',
      'HEAD 200',
      'PUT 200',
    ]);
    expect((await store.get('tg:7#1'))!.meta.name).toBe('b.txt');
  });

  it('s3: two puts of one id racing past their checks keep the first; both return it', async () => {
    const store = stores.find(([k]) => k === 's3')![1];
    const id = 'slack:Ev1#0';
    let metaPuts = 0;
    let release!: () => void;
    const both = new Promise<void>((resolve) => (release = resolve));
    s3.beforeApply = async (r) => {
      if (r.method !== 'PUT' || !r.key.includes('/meta/')) return;
      if (++metaPuts === 2) release();
      await both;
    };
    try {
      const [a, b] = await Promise.all([
        store.put(id, Buffer.from('first'), { mime: 'text/plain', name: 'one.txt' }),
        store.put(id, Buffer.from('second!'), { mime: 'text/plain', name: 'two.txt' }),
      ]);
      expect(a).toEqual(b);
      const conditional = s3.on('PUT', /meta\/slack/);
      expect(conditional.map((r) => r.status).sort()).toEqual([200, 412]);
      const got = await store.get(id);
      expect(got!.meta).toEqual(a);
      expect(Buffer.from(got!.data).toString()).toBe(a.size === 5 ? 'first' : 'second!');
    } finally {
      s3.beforeApply = undefined;
    }
  });

  it('s3: a blob changed in the bucket is refused', async () => {
    const store = stores.find(([k]) => k === 's3')![1];
    const meta = await store.put('tampered', new Uint8Array([1, 2, 3]), { mime: 'a/b', name: 'n' });
    s3.setObject(BUCKET, `workgate/blobs/${meta.sha256}`, Buffer.from([1, 2, 4]));
    await expect(store.get('tampered')).rejects.toThrow(/hash to/);
  });

  it('s3: unknown or wrong credentials are a clear error naming the bucket and key', async () => {
    const unknown = s3StoreWith({ accessKeyId: 'NOSUCHKEY', secretAccessKey: 'x' });
    const refused = await unknown
      .put('k', Buffer.from('x'), { mime: 'a/b', name: 'n' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(S3AttachmentStoreError);
    expect(refused).toMatchObject({ code: 'InvalidAccessKeyId' });
    expect((refused as Error).message).toBe(
      `S3 attachment store: GetObject s3://${BUCKET}/workgate/meta/k.json (${s3.url}) failed: ` +
        'InvalidAccessKeyId (HTTP 403): The AWS Access Key Id you provided does not exist in our records.' +
        ' — check attachments.s3.accessKeyId and secretAccessKey',
    );
    const wrongSecret = s3StoreWith({ secretAccessKey: 'not-the-secret' });
    await expect(wrongSecret.get('k')).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
      message: expect.stringContaining(`s3://${BUCKET}/workgate/meta/k.json`),
    });
    expect(s3.on('GET').filter((r) => r.status === 403).length).toBeGreaterThanOrEqual(2);
  });

  it('s3: a missing bucket is a clear error, on put and on get', async () => {
    const store = s3StoreWith({ bucket: 'no-such-bucket' });
    const put = store.put('k', Buffer.from('x'), { mime: 'a/b', name: 'n' });
    await expect(put).rejects.toMatchObject({
      code: 'NoSuchBucket',
      message: expect.stringMatching(
        /^S3 attachment store: GetObject s3:\/\/no-such-bucket\/workgate\/meta\/k\.json .* failed: NoSuchBucket \(HTTP 404\): The specified bucket does not exist — the bucket does not exist: create it, or fix attachments\.s3\.bucket$/,
      ),
    });
    await expect(store.get('k')).rejects.toThrow(/NoSuchBucket/);
  });

  it('s3: a server that never answers fails within attachments.s3.timeout, saying so', async () => {
    const store = s3StoreWith({ timeout: 300 });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    s3.beforeApply = () => gate;
    try {
      const started = Date.now();
      const failed = await store.get('slow').catch((e: unknown) => e);
      expect(failed).toMatchObject({
        code: 'TimeoutError',
        message: expect.stringContaining('no answer within attachments.s3.timeout'),
      });
      expect((failed as Error).message).toMatch(
        /GetObject s3:\/\/wg-attachments\/workgate\/meta\/slow\.json/,
      );
      // The SDK's three attempts of 300 ms and its backoff between them, not its default of forever.
      expect(s3.on('GET', /meta\/slow/)).toHaveLength(3);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      s3.beforeApply = undefined;
      open();
    }
  });

  it('s3: virtual-hosted addressing (forcePathStyle false) puts the bucket in the host name', async () => {
    const settings = s3Settings({
      endpoint: `http://${s3.virtualHost}:${s3.port}`,
      forcePathStyle: false,
      region: 'eu-central-1',
      prefix: '',
      timeout: 10_000,
    });
    // <bucket>.s3.loopback.test resolves to the loopback server, as DNS would to S3.
    const lookup: AgentOptions['lookup'] = (_host, options, callback) =>
      (options as { all?: boolean }).all
        ? (callback as any)(null, [{ address: '127.0.0.1', family: 4 }])
        : callback(null, '127.0.0.1', 4);
    const client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: false,
      credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new Agent({ lookup }) },
    });
    const store = new S3AttachmentStore(settings, client);
    const from = s3.requests.length;
    const meta = await store.put('vh', Buffer.from('virtual'), { mime: 'a/b', name: 'n' });
    expect(Buffer.from((await store.get('vh'))!.data).toString()).toBe('virtual');
    expect(s3.object(BUCKET, `blobs/${meta.sha256}`)).toBeDefined();
    const seen = s3.requests.slice(from);
    expect(seen.every((r) => r.addressing === 'virtual-hosted' && r.status < 500)).toBe(true);
    expect(seen[0]!.headers.host).toBe(`${BUCKET}.${s3.virtualHost}:${s3.port}`);
    expect(seen[0]!.headers.authorization).toContain('/eu-central-1/s3/aws4_request');
    client.destroy();
  });

  it("the loopback S3 reads the SDK's default aws-chunked uploads too (the store turns them off)", async () => {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.url,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    });
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'chunked',
        Body: Readable.from([Buffer.from('in two '), Buffer.from('chunks')]),
        ContentLength: 13,
      }),
    );
    client.destroy();
    const [put] = s3.on('PUT', /^chunked$/);
    expect(put).toMatchObject({ status: 200, headers: { 'content-encoding': 'aws-chunked' } });
    expect(s3.object(BUCKET, 'chunked')!.data.toString()).toBe('in two chunks');
  });

  it('Telegram: getFile then the file URL; more than the limit is too_large, whatever was declared', async () => {
    const api = await new TelegramApiServer().start();
    api.addBot(TOKEN, { username: 'store_bot', first_name: 'store' });
    try {
      const fetcher = new TelegramFileFetcher(
        testConfig({
          schema: db.schema,
          prefix: 'x',
          overrides: {
            telegram: { apiRoot: api.url, bots: { s: { token: TOKEN, mode: 'polling' } } },
          },
        }),
      );
      const held = api.files.hold(Buffer.alloc(2000, 7), 'bin');
      const ref = {
        id: 'r',
        channel: 'telegram',
        source: 's',
        kind: 'document' as const,
        name: null,
        mime: null,
        size: null,
        fileId: held.file_id,
      };
      const signal = new AbortController().signal;
      expect((await fetcher.fetch(ref, { maxBytes: 5000, signal })).byteLength).toBe(2000);
      const refused = await fetcher.fetch(ref, { maxBytes: 1000, signal }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AttachmentFetchError);
      expect(refused).toMatchObject({ reason: 'too_large', retryable: false });
      const gone = await fetcher
        .fetch({ ...ref, fileId: 'nope' }, { maxBytes: 5000, signal })
        .catch((e: unknown) => e);
      expect(gone).toMatchObject({ reason: 'not_found', retryable: false });
    } finally {
      await api.stop();
    }
  });

  it('Slack: url_private with the bot token; a declared size under the truth is still capped; other hosts never get the token', async () => {
    const api = await new SlackApiServer().start();
    api.tokens.set('xoxb-store', { teamId: 'T0STORE01', team: 'store' });
    try {
      const config = testConfig({
        schema: db.schema,
        prefix: 'x',
        overrides: {
          slack: {
            apiUrl: api.url,
            workspaces: { w: { teamId: 'T0STORE01', botToken: 'xoxb-store', signingSecret: 's' } },
          },
        },
      });
      const fetcher = new SlackFileFetcher(config);
      const file = api.files.userFile(Buffer.alloc(3000, 1), 'big.txt', 'text/plain', {
        declaredSize: 10,
      });
      const ref = {
        id: 'r',
        channel: 'slack',
        source: 'w',
        kind: 'file' as const,
        name: 'big.txt',
        mime: 'text/plain',
        size: 10,
        url: file.url_private_download,
      };
      const signal = new AbortController().signal;
      expect((await fetcher.fetch(ref, { maxBytes: 5000, signal })).byteLength).toBe(3000);
      await expect(fetcher.fetch(ref, { maxBytes: 1000, signal })).rejects.toMatchObject({
        reason: 'too_large',
      });
      await expect(
        fetcher.fetch({ ...ref, url: 'http://127.0.0.2:1/steal' }, { maxBytes: 5000, signal }),
      ).rejects.toMatchObject({ reason: 'not_found' });
      expect(api.files.downloads.every((d) => d.token === 'xoxb-store')).toBe(true);
    } finally {
      await api.stop();
    }
  });
});
