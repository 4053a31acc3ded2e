import { ConfigError, loadConfig } from './app-config';
import { readDatabaseUrl, sessionDatabaseUrl, usesPreparedStatements } from './database-urls';

const POOLER = 'postgresql://app@pgbouncer:6432/workgate';
const DIRECT = 'postgresql://app@db:5432/workgate';
const REPLICA = 'postgresql://app@replica:5432/workgate';

describe('database URLs and pooling settings', () => {
  it('defaults every URL to DATABASE_URL and keeps named statements on a direct connection', () => {
    const config = loadConfig({ env: { DATABASE_URL: DIRECT }, path: null });
    expect(sessionDatabaseUrl(config)).toBe(DIRECT);
    expect(readDatabaseUrl(config)).toBe(DIRECT);
    expect(usesPreparedStatements(config)).toBe(true);
  });

  it('sends session work and reads where told, and drops names behind a transaction pooler', () => {
    const config = loadConfig({
      env: { DATABASE_URL: POOLER, DATABASE_MIGRATE_URL: DIRECT, DATABASE_READ_URL: REPLICA },
      path: null,
      overrides: { database: { transactionPooling: true } },
    });
    expect(sessionDatabaseUrl(config)).toBe(DIRECT);
    expect(readDatabaseUrl(config)).toBe(REPLICA);
    expect(usesPreparedStatements(config)).toBe(false);
  });

  it('keeps names behind a pooler that tracks them (PgBouncer ≥ 1.21) when asked', () => {
    const config = loadConfig({
      env: { DATABASE_URL: POOLER, DATABASE_MIGRATE_URL: DIRECT },
      path: null,
      overrides: { database: { transactionPooling: true, preparedStatements: true } },
    });
    expect(usesPreparedStatements(config)).toBe(true);
  });

  it('refuses transaction pooling without a direct URL for the session locks', () => {
    expect(() =>
      loadConfig({
        env: { DATABASE_URL: POOLER },
        path: null,
        overrides: { database: { transactionPooling: true } },
      }),
    ).toThrow(
      new ConfigError(
        'Invalid database settings: database.transactionPooling needs DATABASE_MIGRATE_URL: a direct connection for migrations and session locks, which a transaction pooler cannot hold',
      ),
    );
  });
});
