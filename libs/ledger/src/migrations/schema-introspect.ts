import { Client } from 'pg';
import { targetSchema } from './migration-runner';
import { readDatamodel } from './prisma-datamodel';
import {
  canonicalPgType,
  type DbSnapshot,
  type DbTable,
  diffSchema,
  type DriftOptions,
  type DriftResult,
  enumTypeLabel,
} from './schema-drift';

/**
 * The database side of the drift check (schema-drift.ts): a migrated schema read from
 * pg_catalog into a DbSnapshot, and the check that compares it with schema.prisma.
 */

const ON_DELETE: Record<string, string> = {
  a: 'NoAction',
  r: 'Restrict',
  c: 'Cascade',
  n: 'SetNull',
  d: 'SetDefault',
};

/** The tables, columns, indexes, foreign keys and enums of one schema. */
export async function introspect(client: Client, schema: string): Promise<DbSnapshot> {
  const tables = new Map<string, DbTable>();
  const { rows: tableRows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition`,
    [schema],
  );
  for (const t of tableRows)
    tables.set(t.name, { columns: new Map(), indexes: [], foreignKeys: [] });

  await readColumns(client, schema, tables);
  await readIndexes(client, schema, tables);
  await readForeignKeys(client, schema, tables);
  return { tables, enums: await readEnums(client, schema) };
}

/** Each table's columns, typed in the canonical spelling diffSchema compares. */
async function readColumns(
  client: Client,
  schema: string,
  tables: Map<string, DbTable>,
): Promise<void> {
  const { rows: columnRows } = await client.query<{
    table: string;
    column: string;
    formatted: string;
    not_null: boolean;
    enum_name: string | null;
    enum_schema: string | null;
    is_array: boolean;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS formatted,
            a.attnotnull AS not_null, t.typcategory = 'A' AS is_array,
            CASE WHEN bt.typtype = 'e' THEN bt.typname END AS enum_name,
            CASE WHEN bt.typtype = 'e' THEN btn.nspname END AS enum_schema
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type bt ON bt.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
       JOIN pg_namespace btn ON btn.oid = bt.typnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    [schema],
  );
  for (const r of columnRows) {
    const type = r.enum_name
      ? enumTypeLabel(
          r.enum_name,
          r.enum_schema === schema ? undefined : (r.enum_schema ?? undefined),
        ) + (r.is_array ? '[]' : '')
      : canonicalPgType(r.formatted);
    tables.get(r.table)?.columns.set(r.column, { type, notNull: r.not_null });
  }
}

/** Each table's indexes, with their key columns in order. */
async function readIndexes(
  client: Client,
  schema: string,
  tables: Map<string, DbTable>,
): Promise<void> {
  const { rows: indexRows } = await client.query<{
    table: string;
    name: string;
    columns: string[];
    unique: boolean;
    primary: boolean;
    partial_or_expression: boolean;
  }>(
    `SELECT c.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            (ix.indpred IS NOT NULL OR ix.indexprs IS NOT NULL) AS partial_or_expression,
            ARRAY(SELECT a.attname::text
                    FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                   WHERE k.ord <= ix.indnkeyatts
                   ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class c ON c.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1`,
    [schema],
  );
  for (const r of indexRows) {
    tables.get(r.table)?.indexes.push({
      name: r.name,
      columns: r.columns,
      unique: r.unique,
      primary: r.primary,
      partialOrExpression: r.partial_or_expression,
    });
  }
}

/** Each table's foreign keys, ON DELETE in Prisma's words. */
async function readForeignKeys(
  client: Client,
  schema: string,
  tables: Map<string, DbTable>,
): Promise<void> {
  const { rows: fkRows } = await client.query<{
    table: string;
    name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
  }>(
    `SELECT src.relname AS table, con.conname AS name, tgt.relname AS ref_table, con.confdeltype AS on_delete,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns
       FROM pg_constraint con
       JOIN pg_class src ON src.oid = con.conrelid
       JOIN pg_class tgt ON tgt.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = src.relnamespace
      WHERE con.contype = 'f' AND n.nspname = $1`,
    [schema],
  );
  for (const r of fkRows) {
    tables.get(r.table)?.foreignKeys.push({
      name: r.name,
      columns: r.columns,
      refTable: r.ref_table,
      refColumns: r.ref_columns,
      onDelete: ON_DELETE[r.on_delete] ?? r.on_delete,
    });
  }
}

/** The schema's enum types and their labels in order. */
async function readEnums(client: Client, schema: string): Promise<Map<string, string[]>> {
  const { rows: enumRows } = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t
       JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1
      GROUP BY t.typname`,
    [schema],
  );
  return new Map(enumRows.map((r) => [r.name, r.labels]));
}

export async function checkSchemaDrift(options: DriftOptions): Promise<DriftResult> {
  const datamodel = options.datamodel ?? readDatamodel(options.schemaPath);
  const schema = options.schema ?? targetSchema(options.connectionString);
  const client = new Client({ connectionString: options.connectionString });
  // A server going away emits 'error' on the Client besides failing the query in flight;
  // unhandled, the event would kill the process instead of the query's caller seeing it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      schema,
    ]);
    if (!rowCount) return { ok: false, problems: [`schema "${schema}" does not exist`] };
    const problems = diffSchema(datamodel, await introspect(client, schema));
    return { ok: problems.length === 0, problems };
  } finally {
    await client.end();
  }
}
