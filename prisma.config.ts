// Prisma 7 reads the connection from here, not from schema.prisma. Only the CLI
// (generate, and migrate where its native engine can be downloaded) uses this file;
// the application connects through @prisma/adapter-pg with its own parsed config.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/workgate',
  },
});
