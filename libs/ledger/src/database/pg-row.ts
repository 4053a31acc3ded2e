import { type Prisma } from '../generated/prisma/client';

/**
 * A value as the `pg` driver hands it to raw SQL, given its type in Prisma's generated
 * model. The two differ only where pg keeps precision JavaScript numbers lack: `int8`
 * (Prisma: bigint) and `numeric` (Prisma: Decimal) arrive as their decimal text (pg's
 * default parsers, which this project does not replace). Everything else — text, int4,
 * bool, timestamptz (Date), jsonb (parsed), enums (their label) — is the same.
 */
export type PgValue<T> = T extends bigint ? string : T extends Prisma.Decimal ? string : T;

/**
 * The row `SELECT *` (or `RETURNING *`) gives raw SQL for a Prisma model: the model's
 * fields, one source (schema.prisma), with pg's representation of int8 and numeric.
 * Row types add only what Prisma cannot know, a narrower type for a Json column, and
 * say why where they do.
 */
export type PgRow<Model> = { [K in keyof Model]: PgValue<Model[K]> };
