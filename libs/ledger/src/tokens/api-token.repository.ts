import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  CLOCK,
  type Clock,
  ErrorCode,
  ID_GENERATOR,
  type IdGenerator,
  WorkgateError,
} from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';

export const API_TOKEN_ROLES = ['viewer', 'operator'] as const;
export type ApiTokenRole = (typeof API_TOKEN_ROLES)[number];

/** A token as lists show it: never the token itself, which is not stored. */
export interface ApiTokenInfo {
  id: string;
  name: string;
  role: ApiTokenRole;
  /** The token's first characters, to recognise it (`wg_AbCdEfGh`). */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export const API_TOKEN_PREFIX = 'wg_';
export const API_TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** The gateway's WORKGATE_API_TOKEN acts as `token:bootstrap`; no stored token may look the same. */
const RESERVED_NAME = 'bootstrap';
const TOKEN_SHAPE = /^wg_[A-Za-z0-9_-]{43}$/;
/** lastUsedAt is for people ("is this token still in use?"): one write a minute is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * SHA-256, not a password hash: a token is 256 random bits, so there is nothing to
 * guess and a slow hash would only slow every request. A fast hash also lets a request
 * be checked with one lookup on the unique index.
 */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const COLUMNS = `id, name, role, prefix, "createdAt", "lastUsedAt", "revokedAt"`;

/** Bearer tokens of the operator API, stored hashed (`workgate tokens create|ls|revoke`). */
@Injectable()
export class ApiTokenRepository {
  constructor(
    private readonly db: LedgerDatabase,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Creates a token; the returned `token` is the only time it exists in clear. */
  async create(name: string, role: ApiTokenRole): Promise<ApiTokenInfo & { token: string }> {
    if (!API_TOKEN_NAME.test(name))
      throw new WorkgateError(
        ErrorCode.ValidationFailed,
        `token name "${name}": use 1-64 letters, digits, ".", "_", "@" or "-"`,
      );
    if (name === RESERVED_NAME)
      throw new WorkgateError(
        ErrorCode.ValidationFailed,
        `token name "${RESERVED_NAME}" is reserved for WORKGATE_API_TOKEN`,
      );
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    try {
      const { rows } = await this.db.pool.query<ApiTokenInfo>(
        `INSERT INTO "ApiToken" (id, name, role, "tokenHash", prefix) VALUES ($1, $2, $3, $4, $5)
         RETURNING ${COLUMNS}`,
        [this.ids.uuid(), name, role, hashApiToken(token), token.slice(0, 11)],
      );
      return { ...rows[0]!, token };
    } catch (err) {
      if ((err as { code?: string }).code === '23505')
        throw new WorkgateError(
          ErrorCode.InvalidTransition,
          `a token named "${name}" exists already (names stay taken after revoking, so the timeline's "token:${name}" is unambiguous)`,
        );
      translateDatabaseError(err);
    }
  }

  async list(): Promise<ApiTokenInfo[]> {
    return this.query<ApiTokenInfo>(`SELECT ${COLUMNS} FROM "ApiToken" ORDER BY "createdAt", name`);
  }

  /** Revokes by name; null when there is no such token. Revoking twice keeps the first time. */
  async revoke(name: string): Promise<ApiTokenInfo | null> {
    const rows = await this.query<ApiTokenInfo>(
      `UPDATE "ApiToken" SET "revokedAt" = COALESCE("revokedAt", now()) WHERE name = $1 RETURNING ${COLUMNS}`,
      [name],
    );
    return rows[0] ?? null;
  }

  /** The live (not revoked) token this bearer value is, or null. Touches lastUsedAt. */
  async authenticate(token: string): Promise<ApiTokenInfo | null> {
    // Anything not shaped like one of our tokens is refused without a query.
    if (!TOKEN_SHAPE.test(token)) return null;
    const rows = await this.query<ApiTokenInfo>(
      `SELECT ${COLUMNS} FROM "ApiToken" WHERE "tokenHash" = $1 AND "revokedAt" IS NULL`,
      [hashApiToken(token)],
    );
    const info = rows[0];
    if (!info) return null;
    if (!info.lastUsedAt || this.clock.now() - info.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS)
      await this.query(`UPDATE "ApiToken" SET "lastUsedAt" = now() WHERE id = $1`, [info.id]);
    return info;
  }

  private async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const { rows } = await this.db.pool.query(sql, params);
      return rows as T[];
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
