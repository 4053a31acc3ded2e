import { Inject, Injectable } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, type AppConfig, sessionDatabaseUrl } from '@app/config';
import { type ChannelCursorStore, type CursorLease, type StoredCursor } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';

/**
 * Channels' cursors (`ChannelCursor`: the Telegram poller's offsets) behind the lease
 * that makes one replica their writer (see PgCursorLease). The port is core's
 * ChannelCursorStore, so a channel keeps its place without touching the database.
 */
@Injectable()
export class ChannelCursorRepository implements ChannelCursorStore {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly db: LedgerDatabase,
  ) {}

  tryAcquire(name: string): Promise<CursorLease | null> {
    return PgCursorLease.tryAcquire({
      // A session lock: DATABASE_MIGRATE_URL when set (see sessionDatabaseUrl).
      connectionString: sessionDatabaseUrl(this.config),
      schema: this.db.schema,
      name,
    });
  }
}

/**
 * "Exactly one holder per lease across replicas" (one poller per bot) as a session-level PostgreSQL advisory
 * lock, held on a dedicated connection (not a pooled one: a pooled connection goes back
 * to the pool and with it the lock). If the holder dies, PostgreSQL ends its session and
 * frees the lock; a standby's next try takes it over.
 *
 * The cursor is written on the same connection, which makes the lock a fence: a holder
 * that lost its connection (and so its lock) cannot move the cursor any more, whatever it
 * still believes. Advisory locks are per database, so the key includes the schema:
 * deployments (and test files) sharing a database do not block each other. It needs a
 * real session, so it never goes through a transaction pooler (sessionDatabaseUrl).
 */
class PgCursorLease implements CursorLease {
  private isLost = false;
  private signalLost!: () => void;
  readonly whenLost = new Promise<void>((resolve) => (this.signalLost = resolve));

  private constructor(private readonly client: Client) {
    const lose = () => {
      this.isLost = true;
      this.signalLost();
    };
    client.on('error', lose);
    client.on('end', lose);
  }

  get lost(): boolean {
    return this.isLost;
  }

  /** The lease, or null while another session holds it. Throws when PostgreSQL is unreachable. */
  static async tryAcquire(options: {
    connectionString: string;
    schema: string;
    name: string;
  }): Promise<PgCursorLease | null> {
    const client = new Client({
      connectionString: options.connectionString,
      options: `-c search_path="${options.schema}"`,
      connectionTimeoutMillis: 5_000,
    });
    // Errors on an idle client are emitted, not thrown; without a listener they would
    // crash the process. The lease's own listener takes over below.
    client.on('error', () => undefined);
    await client.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
        [`workgate:${options.schema}:${options.name}`],
      );
      if (rows[0]?.ok) return new PgCursorLease(client);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    await client.end().catch(() => undefined);
    return null;
  }

  async readCursor(key: string): Promise<StoredCursor | null> {
    const { rows } = await this.client.query<StoredCursor>(
      'SELECT value, "updatedAt" FROM "ChannelCursor" WHERE key = $1',
      [key],
    );
    return rows[0] ?? null;
  }

  async writeCursor(key: string, value: string): Promise<void> {
    if (this.isLost) throw new Error('the cursor lease was lost; the cursor stays where it is');
    await this.client.query(
      `INSERT INTO "ChannelCursor" (key, value, "updatedAt") VALUES ($1, $2, now())
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`,
      [key, value],
    );
  }

  /** Ending the session frees the lock; an explicit unlock would be one more round trip. */
  async release(): Promise<void> {
    this.isLost = true;
    this.signalLost();
    await this.client.end().catch(() => undefined);
  }
}
