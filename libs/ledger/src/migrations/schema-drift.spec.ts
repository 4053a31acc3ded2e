import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Datamodel, type DmmfField, parseDatamodel } from './prisma-datamodel';
import {
  type DbSnapshot,
  type DbTable,
  canonicalPgType,
  diffSchema,
  expectedColumnType,
} from './schema-drift';

const field = (over: Partial<DmmfField>): DmmfField => ({
  name: 'f',
  kind: 'scalar',
  isList: false,
  isRequired: true,
  type: 'String',
  nativeType: null,
  ...over,
});

describe('expectedColumnType (Prisma type + native attribute → PostgreSQL type)', () => {
  it.each<[string, Partial<DmmfField>, string]>([
    ['String', {}, 'text'],
    ['String @db.Uuid', { nativeType: ['Uuid', []] }, 'uuid'],
    ['Int', { type: 'Int' }, 'integer'],
    ['BigInt', { type: 'BigInt' }, 'bigint'],
    ['Boolean', { type: 'Boolean' }, 'boolean'],
    ['DateTime', { type: 'DateTime' }, 'timestamp(3)'],
    [
      'DateTime @db.Timestamptz(3)',
      { type: 'DateTime', nativeType: ['Timestamptz', ['3']] },
      'timestamptz(3)',
    ],
    [
      'DateTime @db.Timestamptz',
      { type: 'DateTime', nativeType: ['Timestamptz', []] },
      'timestamptz(6)',
    ],
    ['Json', { type: 'Json' }, 'jsonb'],
    ['Json @db.Json', { type: 'Json', nativeType: ['Json', []] }, 'json'],
    ['Decimal', { type: 'Decimal' }, 'numeric(65,30)'],
    [
      'Decimal @db.Decimal(14, 6)',
      { type: 'Decimal', nativeType: ['Decimal', ['14', '6']] },
      'numeric(14,6)',
    ],
    ['Float', { type: 'Float' }, 'double precision'],
    ['Bytes', { type: 'Bytes' }, 'bytea'],
    ['String @db.VarChar(20)', { nativeType: ['VarChar', ['20']] }, 'varchar(20)'],
    ['String[]', { isList: true }, 'text[]'],
    ['enum WorkState', { kind: 'enum', type: 'WorkState' }, 'enum "WorkState"'],
    ['enum list', { kind: 'enum', type: 'WorkState', isList: true }, 'enum "WorkState"[]'],
  ])('%s', (_label, over, expected) => {
    expect(expectedColumnType(field(over))).toBe(expected);
  });

  it('uses the enum’s database name when it is @@map-ped', () => {
    expect(
      expectedColumnType(field({ kind: 'enum', type: 'Color' }), [
        { name: 'Color', dbName: 'colour', values: [] },
      ]),
    ).toBe('enum "colour"');
  });
});

describe('canonicalPgType (format_type() → the same spelling)', () => {
  it.each([
    ['text', 'text'],
    ['timestamp(3) with time zone', 'timestamptz(3)'],
    ['timestamp with time zone', 'timestamptz(6)'],
    ['timestamp(3) without time zone', 'timestamp(3)'],
    ['time(2) without time zone', 'time(2)'],
    ['time with time zone', 'timetz(6)'],
    ['character varying(20)', 'varchar(20)'],
    ['character varying', 'varchar'],
    ['character(3)', 'char(3)'],
    ['bit varying(8)', 'varbit(8)'],
    ['numeric(14,6)', 'numeric(14,6)'],
    ['text[]', 'text[]'],
    ['timestamp(3) with time zone[]', 'timestamptz(3)[]'],
  ])('%s → %s', (formatted, canonical) => {
    expect(canonicalPgType(formatted)).toBe(canonical);
  });

  // Every field of this schema was created by the SQL Prisma's own migrate diff prints
  // for it (../shared/tools/prisma-migrate-diff empty probe.prisma) and read back with
  // format_type() on PostgreSQL 15; the mapping must agree with both ends.
  const probe = `
    datasource db {
      provider = "postgresql"
    }
    enum Color {
      red
      green
    }
    model Probe {
      id     Int      @id @default(autoincrement())
      s      String
      f      Float
      d      Decimal
      dt     DateTime
      b      Bytes
      tags   String[]
      colors Color[]
      ints   Int[]
      vc     String?  @db.VarChar(20)
      ch     String   @db.Char(3)
      ts     DateTime @db.Timestamptz
      t6     DateTime @db.Timestamp(6)
      tm     DateTime @db.Time(2)
      ttz    DateTime @db.Timetz
      dd     DateTime @db.Date
      sm     Int      @db.SmallInt
      j      Json     @db.Json
      mapped String   @map("mapped_col")
      xml    String   @db.Xml
      bit    String   @db.Bit(4)
      @@map("probes")
    }`;
  const formatted: Record<string, string> = {
    id: 'integer',
    s: 'text',
    f: 'double precision',
    d: 'numeric(65,30)',
    dt: 'timestamp(3) without time zone',
    b: 'bytea',
    tags: 'text[]',
    ints: 'integer[]',
    vc: 'character varying(20)',
    ch: 'character(3)',
    ts: 'timestamp with time zone',
    t6: 'timestamp(6) without time zone',
    tm: 'time(2) without time zone',
    ttz: 'time with time zone',
    dd: 'date',
    sm: 'smallint',
    j: 'json',
    mapped: 'text',
    xml: 'xml',
    bit: 'bit(4)',
  };

  it('agrees with what Prisma creates for every native type it was tried on', () => {
    const dm = parseDatamodel(probe);
    const model = dm.models[0]!;
    for (const f of model.fields) {
      if (f.kind === 'enum') {
        expect(expectedColumnType(f, dm.enums)).toBe('enum "Color"[]');
        continue;
      }
      expect([f.name, expectedColumnType(f, dm.enums)]).toEqual([
        f.name,
        canonicalPgType(formatted[f.name]!),
      ]);
    }
  });
});

describe('parseDatamodel (Prisma’s own parser, offline)', () => {
  const schema = readFileSync(join(__dirname, '../../../../prisma/schema.prisma'), 'utf8');

  it('reads the ledger schema with native types, nullability, enums and indexes', () => {
    const dm = parseDatamodel(schema);
    const work = dm.models.find((m) => m.name === 'Work')!;
    const byName = (n: string) => work.fields.find((f) => f.name === n)!;
    expect(expectedColumnType(byName('id'), dm.enums)).toBe('uuid');
    expect(expectedColumnType(byName('state'), dm.enums)).toBe('enum "WorkState"');
    expect(expectedColumnType(byName('createdAt'), dm.enums)).toBe('timestamptz(3)');
    expect(byName('sourceId').isRequired).toBe(false);
    const cost = dm.models
      .find((m) => m.name === 'ModelCall')!
      .fields.find((f) => f.name === 'costUsd')!;
    expect(expectedColumnType(cost, dm.enums)).toBe('numeric(14,6)');
    expect(dm.enums.find((e) => e.name === 'WaitType')!.values.map((v) => v.name)).toEqual([
      'timer',
      'human',
      'event',
      'webhook',
      'child',
      'budget',
    ]);
    expect(dm.indexes).toContainEqual(
      expect.objectContaining({
        model: 'Step',
        type: 'unique',
        fields: [{ name: 'workId' }, { name: 'seq' }],
      }),
    );
    expect(dm.indexes).toContainEqual(
      expect.objectContaining({
        model: 'InboundEvent',
        type: 'unique',
        fields: [{ name: 'channel' }, { name: 'externalId' }],
      }),
    );
  });

  it('rejects an invalid schema with Prisma’s validation message', () => {
    expect(() => parseDatamodel('model X {\n  id Int @id\n  y Nope\n}')).toThrow(
      /schema\.prisma is invalid \(P1012\)[\s\S]*Nope/,
    );
  });
});

describe('diffSchema', () => {
  const dm: Datamodel = parseDatamodel(`
    datasource db {
      provider = "postgresql"
    }
    enum Kind {
      a
      b
    }
    model Parent {
      id    String  @id @db.Uuid
      kids  Child[]
    }
    model Child {
      id       String  @id @db.Uuid
      parentId String  @db.Uuid
      seq      Int
      kind     Kind
      note     String?
      at       DateTime @db.Timestamptz(3)
      parent   Parent  @relation(fields: [parentId], references: [id], onDelete: Cascade)
      @@unique([parentId, seq])
      @@index([kind, at])
    }`);

  const matching = (): DbSnapshot => {
    const pk = (table: string) => ({
      name: `${table}_pkey`,
      columns: ['id'],
      unique: true,
      primary: true,
      partialOrExpression: false,
    });
    const parent: DbTable = {
      columns: new Map([['id', { type: 'uuid', notNull: true }]]),
      indexes: [pk('Parent')],
      foreignKeys: [],
    };
    const child: DbTable = {
      columns: new Map([
        ['id', { type: 'uuid', notNull: true }],
        ['parentId', { type: 'uuid', notNull: true }],
        ['seq', { type: 'integer', notNull: true }],
        ['kind', { type: 'enum "Kind"', notNull: true }],
        ['note', { type: 'text', notNull: false }],
        ['at', { type: 'timestamptz(3)', notNull: true }],
      ]),
      indexes: [
        pk('Child'),
        {
          name: 'Child_parentId_seq_key',
          columns: ['parentId', 'seq'],
          unique: true,
          primary: false,
          partialOrExpression: false,
        },
        {
          name: 'Child_kind_at_idx',
          columns: ['kind', 'at'],
          unique: false,
          primary: false,
          partialOrExpression: false,
        },
      ],
      foreignKeys: [
        {
          name: 'Child_parentId_fkey',
          columns: ['parentId'],
          refTable: 'Parent',
          refColumns: ['id'],
          onDelete: 'Cascade',
        },
      ],
    };
    return {
      tables: new Map([
        ['Parent', parent],
        ['Child', child],
        ['_prisma_migrations', { columns: new Map(), indexes: [], foreignKeys: [] }],
      ]),
      enums: new Map([['Kind', ['a', 'b']]]),
    };
  };

  it('finds nothing when the database matches', () => {
    expect(diffSchema(dm, matching())).toEqual([]);
  });

  it('names the model, field and difference', () => {
    const db = matching();
    const child = db.tables.get('Child')!;
    child.columns.set('at', { type: 'timestamp(3)', notNull: true });
    child.columns.set('note', { type: 'text', notNull: true });
    child.columns.delete('seq');
    child.columns.set('extra', { type: 'text', notNull: false });
    child.indexes = child.indexes.filter((i) => i.name !== 'Child_parentId_seq_key');
    child.foreignKeys[0]!.onDelete = 'SetNull';
    db.enums.set('Kind', ['a', 'c']);
    db.enums.set('Stray', ['x']);
    db.tables.delete('Parent');
    db.tables.set('Orphan', { columns: new Map(), indexes: [], foreignKeys: [] });

    expect(diffSchema(dm, db)).toEqual(
      expect.arrayContaining([
        'Child.at: column type is timestamp(3), schema.prisma says timestamptz(3)',
        'Child.note: column is NOT NULL, schema.prisma says optional (nullable)',
        'Child.seq: column "seq" is missing from table "Child"',
        'model Child: table "Child" has column "extra" that schema.prisma does not declare',
        'Child @@unique([parentId, seq]): no unique index on ("parentId", "seq") in table "Child"',
        'Child.parent relation: foreign key "Child_parentId_fkey" has ON DELETE SetNull, schema.prisma says Cascade',
        'enum Kind: values missing in the database: b',
        'enum Kind: database has values not in schema.prisma: c',
        'enum type "Stray" exists in the database but not in schema.prisma',
        'model Parent: table "Parent" is missing',
        'table "Orphan" exists in the database but no model in schema.prisma maps to it',
      ]),
    );
  });

  it('does not accept a unique index for an @@index, nor a partial one', () => {
    const db = matching();
    const child = db.tables.get('Child')!;
    child.indexes = child.indexes.map((i) =>
      i.name === 'Child_kind_at_idx' ? { ...i, unique: true } : i,
    );
    expect(diffSchema(dm, db)).toContain(
      'Child @@index([kind, at]): no non-unique index on ("kind", "at") in table "Child"',
    );
    const db2 = matching();
    db2.tables.get('Child')!.indexes = db2.tables
      .get('Child')!
      .indexes.map((i) =>
        i.name === 'Child_parentId_seq_key' ? { ...i, partialOrExpression: true } : i,
      );
    expect(diffSchema(dm, db2)).toContain(
      'Child @@unique([parentId, seq]): no unique index on ("parentId", "seq") in table "Child"',
    );
  });
  it('accepts the raw-SQL expression indexes it is told of, and no other extra index', () => {
    const db = matching();
    const expression = (name: string) => ({
      name,
      columns: [],
      unique: false,
      primary: false,
      partialOrExpression: true,
    });
    db.tables
      .get('Child')!
      .indexes.push(expression('Work_input_trgm_idx'), expression('Stray_idx'));
    expect(diffSchema(dm, db)).toEqual([
      'model Child: table "Child" has index "Stray_idx" on () that schema.prisma does not declare',
    ]);
  });
});
