import { Client } from 'pg';
import { ADMIN_DATABASE_URL, TEST_DATABASE_URL } from './env';

/** Creates the test database once per run; each test file then works in its own schema. */
export default async function globalSetup(): Promise<void> {
  const dbName = new URL(TEST_DATABASE_URL).pathname.slice(1);
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      dbName,
    ]);
    if (!rowCount)
      await admin.query(`CREATE DATABASE "${dbName}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently by another project
      });
  } finally {
    await admin.end();
  }
}
