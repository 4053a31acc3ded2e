import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelegramFileFetcher } from '@app/channels/telegram';
import { SlackFileFetcher } from '@app/channels/slack';
import { AttachmentFetchError, type AttachmentStore } from '@app/core';
import { attachmentStoreFor, LocalDirectoryAttachmentStore } from '@app/ledger';
import { createTestSchema, type TestSchema } from '@test/db';
import { testConfig } from '@test/gateway';
import { SlackApiServer } from '@test/slack-api';
import { TelegramApiServer } from '@test/telegram-api';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const TOKEN = '100000031:TEST_ONLY-store';

/**
 * Both attachment stores over real storage (a migrated PostgreSQL schema, a temporary
 * folder): a put is idempotent by id, bytes read back are checked against their hash,
 * and the channel fetchers never hold more than the limit.
 */
describe('attachment stores and fetchers', () => {
  let db: TestSchema;
  let dir: string;
  let stores: Array<[string, AttachmentStore]>;

  beforeAll(async () => {
    db = await createTestSchema('attachments');
    dir = mkdtempSync(join(tmpdir(), 'wg-store-'));
    const config = testConfig({ schema: db.schema, prefix: 'unused' });
    stores = [
      ['postgres', attachmentStoreFor(config)],
      ['local', new LocalDirectoryAttachmentStore(dir)],
    ];
  });

  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['postgres', 'local'])(
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
