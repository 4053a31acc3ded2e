import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { type AppConfig } from '@app/config';
import { type AttachmentStore } from '@app/core';
import { PrismaClient } from '../generated/prisma/client';
import { LocalDirectoryAttachmentStore } from './local-directory-attachment.store';
import { PostgresAttachmentStore } from './postgres-attachment.store';
import { S3AttachmentStore } from './s3-attachment.store';

const stores = new WeakMap<object, AttachmentStore>();

/**
 * The attachment store `attachments.store` names, one per config object. The PostgreSQL
 * store has a small pool of its own (two connections, closed when idle) rather than the
 * ledger's: outbound senders and workflows are built outside Nest's container, and a
 * file download must never take a connection a ledger transaction is waiting for. The S3
 * store has its own client (its keep-alive sockets), shared by everything of one config.
 */
export function attachmentStoreFor(
  config: Pick<AppConfig, 'attachments' | 'env'>,
): AttachmentStore {
  const existing = stores.get(config);
  if (existing) return existing;
  const store = storeOf(config);
  stores.set(config, store);
  return store;
}

function storeOf(config: Pick<AppConfig, 'attachments' | 'env'>): AttachmentStore {
  switch (config.attachments.store) {
    case 'local':
      return new LocalDirectoryAttachmentStore(config.attachments.dir);
    case 's3':
      return new S3AttachmentStore(config.attachments.s3);
    case 'postgres':
      return postgresStoreOf(config);
  }
}

function postgresStoreOf(config: Pick<AppConfig, 'env'>): AttachmentStore {
  const schema = config.env.WORKGATE_DB_SCHEMA;
  const pool = new Pool({
    connectionString: config.env.DATABASE_URL,
    max: 2,
    options: `-c search_path="${schema}"`,
    idleTimeoutMillis: 10_000,
    // Idle connections must not keep a finished process (a CLI, a test) alive.
    allowExitOnIdle: true,
  });
  // A dropped idle connection (PostgreSQL restarting) is replaced on next use.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return new PostgresAttachmentStore(new PrismaClient({ adapter: new PrismaPg(pool, { schema }) }));
}
