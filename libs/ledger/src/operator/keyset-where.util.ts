import { decodeCursor } from './keyset-cursor.util';

/**
 * The rows after a keyset cursor in a list ordered `(field DESC, id DESC)`, as a Prisma
 * filter: `(field, id) < (at, id)` spelled `field <= at AND (field < at OR id < id)`.
 * Prisma has no row-value comparison, and the OR alone would only filter rows while
 * PostgreSQL walks the index from the newest; the redundant `field <= at` bound is an
 * index condition, so a deep page starts its walk at the cursor.
 */
export function keysetBefore<F extends string>(field: F, cursor: string | undefined) {
  if (!cursor) return {};
  const after = decodeCursor(cursor);
  return {
    AND: [
      { [field]: { lte: after.at } } as Record<F, { lte: Date }>,
      { OR: [{ [field]: { lt: after.at } } as Record<F, { lt: Date }>, { id: { lt: after.id } }] },
    ],
  };
}
