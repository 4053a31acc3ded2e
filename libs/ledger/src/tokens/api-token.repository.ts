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
import { translateDatabaseError, unlessUnavailable } from '../database/database-errors';
import { type ApiToken, type ApiTokenRole, type Prisma } from '../generated/prisma/client';

export const API_TOKEN_ROLES = ['viewer', 'operator'] as const satisfies readonly ApiTokenRole[];
export type { ApiTokenRole };

/** A token as lists show it (schema.prisma's ApiToken): never the token itself, which is not stored. */
export type ApiTokenInfo = Pick<
  ApiToken,
  'id' | 'name' | 'role' | 'prefix' | 'createdAt' | 'lastUsedAt' | 'revokedAt'
>;

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

const INFO_SELECT = {
  id: true,
  name: true,
  role: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const satisfies Prisma.ApiTokenSelect;

/** Prisma's P2002: a unique constraint refused the row (here: the token's name). */
function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'P2002';
}

/**
 * Bearer tokens of the operator API, stored hashed (`workgate tokens create|ls|revoke`),
 * through Prisma Client. Times come from the CLOCK port, as the lastUsedAt check does.
 */
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
      const info = await this.db.prisma.apiToken.create({
        data: {
          id: this.ids.uuid(),
          name,
          role,
          tokenHash: hashApiToken(token),
          prefix: token.slice(0, 11),
        },
        select: INFO_SELECT,
      });
      return { ...info, token };
    } catch (err) {
      if (isUniqueViolation(err))
        throw new WorkgateError(
          ErrorCode.InvalidTransition,
          `a token named "${name}" exists already (names stay taken after revoking, so the timeline's "token:${name}" is unambiguous)`,
        );
      translateDatabaseError(err);
    }
  }

  async list(): Promise<ApiTokenInfo[]> {
    return unlessUnavailable(() =>
      this.db.prisma.apiToken.findMany({
        select: INFO_SELECT,
        orderBy: [{ createdAt: 'asc' }, { name: 'asc' }],
      }),
    );
  }

  /**
   * Revokes by name; null when there is no such token. Revoking twice keeps the first
   * time: the update only touches a live token.
   */
  async revoke(name: string): Promise<ApiTokenInfo | null> {
    return unlessUnavailable(async () => {
      await this.db.prisma.apiToken.updateMany({
        where: { name, revokedAt: null },
        data: { revokedAt: new Date(this.clock.now()) },
      });
      return this.db.prisma.apiToken.findUnique({ where: { name }, select: INFO_SELECT });
    });
  }

  /** The live (not revoked) token this bearer value is, or null. Touches lastUsedAt. */
  async authenticate(token: string): Promise<ApiTokenInfo | null> {
    // Anything not shaped like one of our tokens is refused without a query.
    if (!TOKEN_SHAPE.test(token)) return null;
    return unlessUnavailable(async () => {
      const info = await this.db.prisma.apiToken.findFirst({
        where: { tokenHash: hashApiToken(token), revokedAt: null },
        select: INFO_SELECT,
      });
      if (!info) return null;
      const now = this.clock.now();
      if (!info.lastUsedAt || now - info.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS)
        await this.db.prisma.apiToken.update({
          where: { id: info.id },
          data: { lastUsedAt: new Date(now) },
        });
      return info;
    });
  }
}
