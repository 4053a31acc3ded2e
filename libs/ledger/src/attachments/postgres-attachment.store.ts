import { type AttachmentStore, type StoredAttachment } from '@app/core';
import { type PrismaClient } from '../generated/prisma/client';
import { assertIntact, sha256Hex } from './attachment-digest.util';

/**
 * The attachment store in the ledger database (`attachments.store: postgres`, the
 * default): one `Attachment` row per id with the bytes in a bytea column. Nothing else
 * to run or back up; files are capped by `attachments.maxBytes` (20 MB by default),
 * well inside what bytea and one round trip handle.
 */
export class PostgresAttachmentStore implements AttachmentStore {
  constructor(private readonly prisma: PrismaClient) {}

  async put(
    id: string,
    data: Uint8Array,
    meta: { mime: string; name: string },
  ): Promise<StoredAttachment> {
    // A re-run of the step that stored it (after a crash) finds the row and keeps it:
    // the id names one file, so the first write wins and no second copy is made.
    await this.prisma.attachment.createMany({
      data: [
        {
          id,
          sha256: sha256Hex(data),
          mime: meta.mime,
          size: data.byteLength,
          name: meta.name,
          // Prisma wants a Uint8Array over a plain ArrayBuffer; a copy makes sure it is one.
          data: new Uint8Array(data),
        },
      ],
      skipDuplicates: true,
    });
    const row = await this.prisma.attachment.findUniqueOrThrow({
      where: { id },
      select: { id: true, sha256: true, mime: true, size: true, name: true },
    });
    return row;
  }

  async get(id: string): Promise<{ meta: StoredAttachment; data: Uint8Array } | null> {
    const row = await this.prisma.attachment.findUnique({ where: { id } });
    if (!row) return null;
    const { data, createdAt: _createdAt, ...meta } = row;
    assertIntact(meta, data);
    return { meta, data };
  }
}
