import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AttachmentStore, type StoredAttachment } from '@app/core';
import { assertIntact, describeAttachment } from './attachment-digest.util';
import { fileNameOf } from './attachment-file-name.util';

/**
 * The attachment store on a local folder (`attachments.store: local`): the bytes in
 * `<dir>/blobs/<sha256>` (content-addressed, so the same file sent twice is kept once),
 * the metadata in `<dir>/meta/<id>.json`. Both are written to a temporary name and
 * renamed, so a crash mid-write never leaves a half file under the real name; the
 * metadata is written last, so an id that reads back always has its bytes.
 */
export class LocalDirectoryAttachmentStore implements AttachmentStore {
  constructor(private readonly dir: string) {}

  async put(
    id: string,
    data: Uint8Array,
    meta: { mime: string; name: string },
  ): Promise<StoredAttachment> {
    const existing = await this.readMeta(id);
    if (existing) return existing;
    const stored = describeAttachment(id, data, meta);
    await this.writeAtomically(join(this.dir, 'blobs'), stored.sha256, data);
    await this.writeAtomically(
      join(this.dir, 'meta'),
      `${fileNameOf(id)}.json`,
      Buffer.from(JSON.stringify(stored)),
    );
    return stored;
  }

  async get(id: string): Promise<{ meta: StoredAttachment; data: Uint8Array } | null> {
    const meta = await this.readMeta(id);
    if (!meta) return null;
    const data = await readFile(join(this.dir, 'blobs', meta.sha256));
    assertIntact(meta, data);
    return { meta, data };
  }

  private async readMeta(id: string): Promise<StoredAttachment | null> {
    try {
      const text = await readFile(join(this.dir, 'meta', `${fileNameOf(id)}.json`), 'utf8');
      return JSON.parse(text) as StoredAttachment;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async writeAtomically(folder: string, name: string, data: Uint8Array): Promise<void> {
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, `.${name}.${process.pid}.${Date.now()}.tmp`);
    await writeFile(temporary, data);
    await rename(temporary, join(folder, name));
  }
}
