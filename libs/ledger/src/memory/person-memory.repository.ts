import { Injectable } from '@nestjs/common';
import {
  ErrorCode,
  type PersonMemoryRecord,
  type PersonMemoryStore,
  type PersonMemoryWrite,
  type PersonMemoryWriteResult,
  type PersonRef,
  personKeyOf,
  WorkgateError,
} from '@app/core';
import { type Queryable, LedgerDatabase } from '../database/ledger-database';

const COLUMNS = `person, channel, source, summary, version, "workId", "forgottenAt", "updatedAt"`;

/** A page of memories for operators, newest change first. */
export interface PersonMemoryPage {
  items: PersonMemoryRecord[];
  /** Opaque (base64url of the last item's `updatedAt` and person) when more may follow. */
  nextCursor: string | null;
}

function encodeMemoryCursor(record: PersonMemoryRecord): string {
  return Buffer.from(JSON.stringify([record.updatedAt.toISOString(), record.person])).toString(
    'base64url',
  );
}

function decodeMemoryCursor(cursor: string): { updatedAt: Date; person: string } {
  const invalid = new WorkgateError(
    ErrorCode.ValidationFailed,
    'cursor: not a cursor this API returned',
    { errors: [{ path: 'cursor', message: 'not a cursor this API returned' }] },
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid;
  const [at, person] = parsed as unknown[];
  const updatedAt = typeof at === 'string' ? new Date(at) : new Date(NaN);
  if (typeof person !== 'string' || Number.isNaN(updatedAt.getTime())) throw invalid;
  return { updatedAt, person };
}

/**
 * The PersonMemory table (schema.prisma): read and written by the assistant through
 * core's PersonMemoryStore port, erased by `/forget` in the ingest transaction and by
 * operators. Hand-written SQL: the conditional write is one statement whose WHERE is
 * the whole guarantee (no lost update between two conversations, no write-back after
 * an erase).
 */
@Injectable()
export class PersonMemoryRepository implements PersonMemoryStore {
  constructor(private readonly db: LedgerDatabase) {}

  async personOfEvent(eventId: string): Promise<PersonRef | null> {
    const { rows } = await this.db.pool.query<{
      channel: string;
      source: string;
      actor: string | null;
    }>(`SELECT channel, source, actor->>'id' AS actor FROM "InboundEvent" WHERE id = $1::uuid`, [
      eventId,
    ]);
    const row = rows[0];
    if (!row?.actor) return null;
    return {
      person: personKeyOf(row.channel, row.source, row.actor),
      channel: row.channel,
      source: row.source,
    };
  }

  async read(person: string, q: Queryable = this.db.pool): Promise<PersonMemoryRecord | null> {
    const { rows } = await q.query<PersonMemoryRecord>(
      `SELECT ${COLUMNS} FROM "PersonMemory" WHERE person = $1`,
      [person],
    );
    return rows[0] ?? null;
  }

  async now(): Promise<Date> {
    const { rows } = await this.db.pool.query<{ now: Date }>('SELECT now() AS now');
    return rows[0]!.now;
  }

  /**
   * One statement: insert, or update only when the row is still the version the
   * conversation merged and was not erased after it began. A re-run of the same write
   * (the step crashed after the commit) finds its own summary there and counts as written.
   */
  async write(write: PersonMemoryWrite): Promise<PersonMemoryWriteResult> {
    const { ref, summary, expectVersion, since, workId } = write;
    const { rowCount } = await this.db.pool.query(
      `INSERT INTO "PersonMemory" (person, channel, source, summary, version, "workId")
       VALUES ($1, $2, $3, $4, 1, $5::uuid)
       ON CONFLICT (person) DO UPDATE
         SET summary = EXCLUDED.summary, version = "PersonMemory".version + 1,
             "workId" = EXCLUDED."workId", "updatedAt" = now()
       WHERE "PersonMemory".version = $6
         AND ("PersonMemory"."forgottenAt" IS NULL OR "PersonMemory"."forgottenAt" < $7)`,
      [ref.person, ref.channel, ref.source, summary, workId, expectVersion, since],
    );
    if (rowCount) return 'written';
    const current = await this.read(ref.person);
    if (current?.workId === workId && current.summary === summary) return 'written';
    if (current?.forgottenAt && current.forgottenAt >= since) return 'forgotten';
    return 'conflict';
  }

  /**
   * Erases what is remembered about a person: the summary goes, the row stays as a
   * tombstone whose `forgottenAt` stops any conversation already under way from
   * writing back what it heard before. With `ref`, a person never remembered gets the
   * tombstone too (a `/forget` during their first conversation); without, only an
   * existing row is touched. True when a summary was erased.
   */
  async forget(
    person: string,
    ref: PersonRef | null = null,
    q: Queryable = this.db.pool,
  ): Promise<{ found: boolean; erased: boolean }> {
    const before = await q.query<{ summary: string | null }>(
      `SELECT summary FROM "PersonMemory" WHERE person = $1 FOR UPDATE`,
      [person],
    );
    const row = before.rows[0];
    if (!row && !ref) return { found: false, erased: false };
    await q.query(
      `INSERT INTO "PersonMemory" (person, channel, source, summary, version, "forgottenAt")
       VALUES ($1, $2, $3, NULL, 1, now())
       ON CONFLICT (person) DO UPDATE
         SET summary = NULL, version = "PersonMemory".version + 1,
             "forgottenAt" = now(), "updatedAt" = now()`,
      [person, ref?.channel ?? '', ref?.source ?? ''],
    );
    return { found: true, erased: row?.summary != null };
  }

  /** Operators' list: memories with a summary, optionally of one channel/source, newest first. */
  async list(options: {
    limit: number;
    prefix?: string;
    cursor?: string;
  }): Promise<PersonMemoryPage> {
    const after = options.cursor ? decodeMemoryCursor(options.cursor) : null;
    const params: unknown[] = [options.limit + 1];
    const where = ['summary IS NOT NULL'];
    if (options.prefix) {
      params.push(`${options.prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`person LIKE $${params.length}`);
    }
    if (after) {
      params.push(after.updatedAt, after.person);
      where.push(`("updatedAt", person) < ($${params.length - 1}, $${params.length})`);
    }
    const { rows } = await this.db.pool.query<PersonMemoryRecord>(
      `SELECT ${COLUMNS} FROM "PersonMemory" WHERE ${where.join(' AND ')}
       ORDER BY "updatedAt" DESC, person DESC LIMIT $1`,
      params,
    );
    const items = rows.slice(0, options.limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > options.limit && last ? encodeMemoryCursor(last) : null,
    };
  }
}
