-- The operator API's `q=` search matches the input's JSON text with ILIKE. Without an
-- index that is a scan of every work (315 ms p99 at 1 000 000 works); a trigram GIN
-- index on the same expression answers it from the index. schema.prisma cannot declare
-- an expression index, so it lives here only (schema-drift.ts: RAW_SQL_INDEXES).
--
-- pg_trgm is a trusted extension (PostgreSQL >= 13): the migrating role needs CREATE on
-- the database, or an administrator runs `CREATE EXTENSION pg_trgm` once beforehand.
-- It is created once per database (in "public", the first migration's schema) and the
-- operator class is looked up wherever it lives, so a database that already has it in
-- another schema works too.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA "public";

DO $$
DECLARE
  ext_schema text;
BEGIN
  SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'pg_trgm';
  EXECUTE format(
    'CREATE INDEX "Work_input_trgm_idx" ON "Work" USING gin ((input::text) %I.gin_trgm_ops)',
    ext_schema);
END $$;
