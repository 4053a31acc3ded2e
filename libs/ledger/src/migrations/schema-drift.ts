import {
  type Datamodel,
  type DmmfEnum,
  type DmmfField,
  type DmmfIndex,
  type DmmfModel,
} from './prisma-datamodel';

/**
 * Proves that a migrated PostgreSQL schema matches prisma/schema.prisma: the check
 * DESIGN.md ("The ledger") asks for, without Prisma's native engine (`prisma migrate
 * diff --from-schema-datasource` would do it, but cannot be downloaded here).
 *
 * Source of truth: schema.prisma itself, read by Prisma's own parser (see
 * prisma-datamodel.ts for why that and not the generated client or a hand parser).
 * The database side is read from pg_catalog. Compared, in both directions where a
 * schema edit without a migration would show up:
 * - every model has its table (@@map honoured), and no table is left that no model
 *   claims (other than _prisma_migrations and implicit many-to-many tables);
 * - every scalar/enum field has its column (@map honoured) with the PostgreSQL type
 *   Prisma would create (expectedColumnType) and the same nullability; no extra columns;
 * - every enum exists with exactly the schema's values; no extra enum types;
 * - every @id, @unique/@@unique and @@index has an index on the same column list
 *   (names are not compared: a `map:` rename is not drift we care about); no extra indexes
 *   but RAW_SQL_INDEXES (expression indexes schema.prisma cannot declare);
 * - every relation has its foreign key (columns, referenced table and columns, ON DELETE).
 * Not compared: column defaults, sort order and index method, CHECK constraints, views.
 * The database is read, and the check run, in schema-introspect.ts.
 */

export interface DriftOptions {
  connectionString: string;
  /** The PostgreSQL schema to inspect; default the URL's ?schema= or public (as the runner). */
  schema?: string;
  /** Default prisma/schema.prisma. */
  schemaPath?: string;
  /** An already parsed datamodel (tests); overrides schemaPath. */
  datamodel?: Datamodel;
}

export interface DriftResult {
  ok: boolean;
  problems: string[];
}

// ---------------------------------------------------------------------------------
// Type mapping: what Prisma Migrate creates for a field on PostgreSQL, in the canonical
// spelling canonicalPgType() gives the database's format_type().

/** Prisma scalar types without a native attribute (Prisma's PostgreSQL defaults). */
const SCALAR_DEFAULTS: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3)',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** PostgreSQL's default precision for time types declared without one. */
const DEFAULT_TIME_PRECISION = '6';

/** Native type attributes (@db.X(args)) of Prisma's PostgreSQL connector. */
const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Text: () => 'text',
  Char: ([n]) => `char(${n ?? '1'})`,
  VarChar: ([n]) => (n ? `varchar(${n})` : 'varchar'),
  Bit: ([n]) => `bit(${n ?? '1'})`,
  VarBit: ([n]) => (n ? `varbit(${n})` : 'varbit'),
  Uuid: () => 'uuid',
  Xml: () => 'xml',
  Inet: () => 'inet',
  Citext: () => 'citext',
  Boolean: () => 'boolean',
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  Oid: () => 'oid',
  BigInt: () => 'bigint',
  Real: () => 'real',
  DoublePrecision: () => 'double precision',
  Decimal: ([p, s]) => (p === undefined ? 'numeric' : `numeric(${p},${s ?? '0'})`),
  Money: () => 'money',
  Timestamp: ([p]) => `timestamp(${p ?? DEFAULT_TIME_PRECISION})`,
  Timestamptz: ([p]) => `timestamptz(${p ?? DEFAULT_TIME_PRECISION})`,
  Date: () => 'date',
  Time: ([p]) => `time(${p ?? DEFAULT_TIME_PRECISION})`,
  Timetz: ([p]) => `timetz(${p ?? DEFAULT_TIME_PRECISION})`,
  Json: () => 'json',
  JsonB: () => 'jsonb',
  ByteA: () => 'bytea',
};

export const enumTypeLabel = (typeName: string, typeSchema?: string) =>
  typeSchema ? `enum ${typeSchema}."${typeName}"` : `enum "${typeName}"`;

/**
 * The column type Prisma Migrate creates for a field, canonical form: e.g. String →
 * text, String @db.Uuid → uuid, DateTime @db.Timestamptz(3) → timestamptz(3),
 * Decimal @db.Decimal(14, 6) → numeric(14,6), an enum → enum "Name", String[] → text[].
 */
export function expectedColumnType(field: DmmfField, enums: readonly DmmfEnum[] = []): string {
  let base: string;
  if (field.kind === 'enum') {
    const e = enums.find((x) => x.name === field.type);
    base = enumTypeLabel(e?.dbName ?? field.type);
  } else if (field.nativeType) {
    const [name, args] = field.nativeType;
    const map = NATIVE_TYPES[name];
    base = map ? map(args) : `${name.toLowerCase()}${args.length ? `(${args.join(',')})` : ''}`;
  } else {
    base = SCALAR_DEFAULTS[field.type] ?? `unknown Prisma type ${field.type}`;
  }
  return field.isList ? `${base}[]` : base;
}

/**
 * PostgreSQL's format_type() spelling → the canonical spelling above:
 * "timestamp(3) with time zone" → timestamptz(3), "character varying(20)" → varchar(20),
 * "timestamp with time zone" → timestamptz(6) (PostgreSQL's default precision), …
 */
export function canonicalPgType(formatted: string): string {
  let base = formatted.trim();
  let dims = '';
  while (base.endsWith('[]')) {
    dims += '[]';
    base = base.slice(0, -2);
  }
  const rules: [RegExp, (m: RegExpMatchArray) => string][] = [
    [/^character varying(\(\d+\))?$/i, (m) => `varchar${m[1] ?? ''}`],
    [/^character(\(\d+\))?$/i, (m) => `char${m[1] ?? '(1)'}`],
    [/^bit varying(\(\d+\))?$/i, (m) => `varbit${m[1] ?? ''}`],
    [
      /^timestamp(?:\((\d+)\))? without time zone$/i,
      (m) => `timestamp(${m[1] ?? DEFAULT_TIME_PRECISION})`,
    ],
    [
      /^timestamp(?:\((\d+)\))? with time zone$/i,
      (m) => `timestamptz(${m[1] ?? DEFAULT_TIME_PRECISION})`,
    ],
    [/^time(?:\((\d+)\))? without time zone$/i, (m) => `time(${m[1] ?? DEFAULT_TIME_PRECISION})`],
    [/^time(?:\((\d+)\))? with time zone$/i, (m) => `timetz(${m[1] ?? DEFAULT_TIME_PRECISION})`],
  ];
  for (const [re, to] of rules) {
    const m = base.match(re);
    if (m) return to(m) + dims;
  }
  return base + dims;
}

// ---------------------------------------------------------------------------------
// What the database holds (read by introspect()), and the pure comparison.

export interface DbColumn {
  /** Canonical type (canonicalPgType, or enumTypeLabel for enums). */
  type: string;
  notNull: boolean;
}

/**
 * Indexes a migration creates in raw SQL because schema.prisma cannot declare them
 * (expression indexes): not drift. Each names the migration that owns it.
 */
export const RAW_SQL_INDEXES = new Set([
  // 20261124220000_work_input_search: trigram GIN on (input::text) for the API's `q=`.
  'Work_input_trgm_idx',
]);

export interface DbIndex {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  /** Partial or expression indexes never match a schema.prisma index. */
  partialOrExpression: boolean;
}

export interface DbForeignKey {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** Prisma's spelling: Cascade, Restrict, NoAction, SetNull, SetDefault. */
  onDelete: string;
}

export interface DbTable {
  columns: Map<string, DbColumn>;
  indexes: DbIndex[];
  foreignKeys: DbForeignKey[];
}

export interface DbSnapshot {
  tables: Map<string, DbTable>;
  /** enum type name → labels in sort order. */
  enums: Map<string, string[]>;
}

const tableOf = (m: DmmfModel) => m.dbName ?? m.name;
const columnOf = (f: DmmfField) => f.dbName ?? f.name;
const list = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
const sameColumns = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((c, i) => c === b[i]);

function indexLabel(model: DmmfModel, idx: DmmfIndex): string {
  const fields = idx.fields.map((f) => f.name);
  switch (idx.type) {
    case 'id':
      return idx.isDefinedOnField
        ? `${model.name}.${fields[0]} @id`
        : `${model.name} @@id([${fields.join(', ')}])`;
    case 'unique':
      return idx.isDefinedOnField
        ? `${model.name}.${fields[0]} @unique`
        : `${model.name} @@unique([${fields.join(', ')}])`;
    case 'normal':
    case 'fulltext':
      return `${model.name} @@index([${fields.join(', ')}])`;
  }
}

/** Compares a parsed schema.prisma with a database snapshot; returns the differences. */
export function diffSchema(dm: Datamodel, db: DbSnapshot): string[] {
  const problems: string[] = [];
  const modelsByName = new Map(dm.models.map((m) => [m.name, m]));
  const claimedTables = new Set<string>(['_prisma_migrations']);

  // Enums: exist, exactly the schema's values.
  const claimedEnums = new Set<string>();
  for (const e of dm.enums) {
    const typeName = e.dbName ?? e.name;
    claimedEnums.add(typeName);
    const labels = db.enums.get(typeName);
    const expected = e.values.map((v) => v.dbName ?? v.name);
    if (!labels) {
      problems.push(
        `enum ${e.name}: type "${typeName}" is missing (expected values ${expected.join(', ')})`,
      );
      continue;
    }
    const missing = expected.filter((v) => !labels.includes(v));
    const extra = labels.filter((v) => !expected.includes(v));
    if (missing.length)
      problems.push(`enum ${e.name}: values missing in the database: ${missing.join(', ')}`);
    if (extra.length)
      problems.push(
        `enum ${e.name}: database has values not in schema.prisma: ${extra.join(', ')}`,
      );
  }
  for (const typeName of db.enums.keys()) {
    if (!claimedEnums.has(typeName))
      problems.push(`enum type "${typeName}" exists in the database but not in schema.prisma`);
  }

  for (const model of dm.models) {
    const tableName = tableOf(model);
    claimedTables.add(tableName);
    // Implicit many-to-many relations live in a join table named _<relationName>.
    for (const f of model.fields) {
      const other =
        f.kind === 'object' && f.isList
          ? modelsByName
              .get(f.type)
              ?.fields.find((g) => g.relationName === f.relationName && g !== f)
          : undefined;
      if (other?.isList && f.relationName) claimedTables.add(`_${f.relationName}`);
    }
    const table = db.tables.get(tableName);
    if (!table) {
      problems.push(`model ${model.name}: table "${tableName}" is missing`);
      continue;
    }

    // Columns: type and nullability.
    const expectedColumns = new Set<string>();
    for (const field of model.fields) {
      if (field.kind !== 'scalar' && field.kind !== 'enum') continue;
      const columnName = columnOf(field);
      expectedColumns.add(columnName);
      const label = `${model.name}.${field.name}${columnName !== field.name ? ` (column "${columnName}")` : ''}`;
      const column = table.columns.get(columnName);
      if (!column) {
        problems.push(`${label}: column "${columnName}" is missing from table "${tableName}"`);
        continue;
      }
      const expectedType = expectedColumnType(field, dm.enums);
      if (column.type !== expectedType) {
        problems.push(
          `${label}: column type is ${column.type}, schema.prisma says ${expectedType}`,
        );
      }
      // Prisma creates list columns without NOT NULL (scalar lists cannot be optional).
      const expectNotNull = field.isRequired && !field.isList;
      if (column.notNull !== expectNotNull) {
        problems.push(
          `${label}: column is ${column.notNull ? 'NOT NULL' : 'nullable'}, schema.prisma says ${expectNotNull ? 'required (NOT NULL)' : 'optional (nullable)'}`,
        );
      }
    }
    for (const columnName of table.columns.keys()) {
      if (!expectedColumns.has(columnName)) {
        problems.push(
          `model ${model.name}: table "${tableName}" has column "${columnName}" that schema.prisma does not declare`,
        );
      }
    }

    // Indexes: @id, @unique/@@unique, @@index, by column list.
    const fieldColumn = new Map(model.fields.map((f) => [f.name, columnOf(f)]));
    const matched = new Set<DbIndex>();
    for (const idx of dm.indexes.filter((i) => i.model === model.name)) {
      if (idx.type === 'fulltext') continue; // MySQL/MongoDB only
      const columns = idx.fields.map((f) => fieldColumn.get(f.name) ?? f.name);
      const found = table.indexes.find(
        (d) =>
          !matched.has(d) &&
          !d.partialOrExpression &&
          sameColumns(d.columns, columns) &&
          (idx.type === 'id'
            ? d.primary
            : idx.type === 'unique'
              ? d.unique && !d.primary
              : !d.unique),
      );
      if (found) {
        matched.add(found);
        continue;
      }
      const kind =
        idx.type === 'id'
          ? 'primary key'
          : idx.type === 'unique'
            ? 'unique index'
            : 'non-unique index';
      problems.push(
        `${indexLabel(model, idx)}: no ${kind} on (${list(columns)}) in table "${tableName}"`,
      );
    }
    for (const d of table.indexes) {
      if (!matched.has(d) && !RAW_SQL_INDEXES.has(d.name)) {
        problems.push(
          `model ${model.name}: table "${tableName}" has ${d.primary ? 'primary key' : d.unique ? 'unique index' : 'index'} "${d.name}" on (${list(d.columns)}) that schema.prisma does not declare`,
        );
      }
    }

    // Foreign keys of the relations this model holds.
    const matchedFks = new Set<DbForeignKey>();
    for (const rel of model.fields) {
      if (rel.kind !== 'object' || !rel.relationFromFields?.length) continue;
      const target = modelsByName.get(rel.type);
      if (!target) continue;
      const targetColumn = new Map(target.fields.map((f) => [f.name, columnOf(f)]));
      const columns = rel.relationFromFields.map((n) => fieldColumn.get(n) ?? n);
      const refColumns = (rel.relationToFields ?? []).map((n) => targetColumn.get(n) ?? n);
      const onDelete = rel.relationOnDelete ?? (rel.isRequired ? 'Restrict' : 'SetNull');
      const label = `${model.name}.${rel.name} relation`;
      const candidates = table.foreignKeys.filter(
        (fk) =>
          !matchedFks.has(fk) &&
          sameColumns(fk.columns, columns) &&
          fk.refTable === tableOf(target) &&
          sameColumns(fk.refColumns, refColumns),
      );
      const exact = candidates.find((fk) => fk.onDelete === onDelete);
      if (exact) {
        matchedFks.add(exact);
      } else if (candidates[0]) {
        matchedFks.add(candidates[0]);
        problems.push(
          `${label}: foreign key "${candidates[0].name}" has ON DELETE ${candidates[0].onDelete}, schema.prisma says ${onDelete}`,
        );
      } else {
        problems.push(
          `${label}: no foreign key (${list(columns)}) → "${tableOf(target)}"(${list(refColumns)}) on table "${tableName}"`,
        );
      }
    }
    for (const fk of table.foreignKeys) {
      if (!matchedFks.has(fk)) {
        problems.push(
          `model ${model.name}: table "${tableName}" has foreign key "${fk.name}" (${list(fk.columns)}) → "${fk.refTable}" that schema.prisma does not declare`,
        );
      }
    }
  }

  for (const tableName of db.tables.keys()) {
    if (!claimedTables.has(tableName))
      problems.push(
        `table "${tableName}" exists in the database but no model in schema.prisma maps to it`,
      );
  }
  return problems;
}
