import { decodeCursor } from './keyset-cursor.util';
import { type WorkFilters } from './operator.types';
import { containsPattern, SqlWhere } from './sql-where.util';

/** The columns of WorkSummary; `costUsd` sums the work's model calls (indexed on workId). */
export const SUMMARY_COLUMNS = `w.id, w.kind, w.title, w.state, w.attempt, w."sourceType" AS channel, w."conversationKey",
  w."waitReason", w."createdAt", w."updatedAt", w."runAfter", w."parentId",
  COALESCE((SELECT sum(m."costUsd") FROM "ModelCall" m WHERE m."workId" = w.id), 0)::float8 AS "costUsd"`;

/**
 * The statement behind GET /api/v1/works?q=…, the one operator read that stays SQL:
 * `q` matches the input's JSON text (`input::text ILIKE`, served by the
 * `Work_input_trgm_idx` trigram index), and Prisma's filters have no match over a Json
 * column's whole text (its Json filters test one path). Every other filter and the
 * keyset order are the same as the Prisma list's (OperatorWorksRepository.list):
 * newest first on `(createdAt, id)`; several states are one ordered branch each
 * (UNION ALL, a page from each), merged, because `state = ANY(…)` cannot use the
 * `(state, createdAt)` index in order. Exported so the ledger-size benchmark can EXPLAIN
 * exactly what the API runs.
 */
export function worksSearchQuery(filters: WorkFilters & { q: string }): {
  text: string;
  values: unknown[];
} {
  const where = new SqlWhere();
  if (filters.kind) where.and(`w.kind = ${where.param(filters.kind)}`);
  if (filters.channel) where.and(`w."sourceType" = ${where.param(filters.channel)}`);
  if (filters.conversationKey)
    where.and(`w."conversationKey" = ${where.param(filters.conversationKey)}`);
  if (filters.createdFrom) where.and(`w."createdAt" >= ${where.param(filters.createdFrom)}`);
  if (filters.createdTo) where.and(`w."createdAt" < ${where.param(filters.createdTo)}`);
  if (filters.updatedFrom) where.and(`w."updatedAt" >= ${where.param(filters.updatedFrom)}`);
  if (filters.updatedTo) where.and(`w."updatedAt" < ${where.param(filters.updatedTo)}`);
  where.and(`w.input::text ILIKE ${where.param(containsPattern(filters.q))} ESCAPE '\\'`);
  if (filters.cursor) {
    const after = decodeCursor(filters.cursor);
    where.and(
      `(w."createdAt", w.id) < (${where.param(after.at)}::timestamptz, ${where.param(after.id)}::uuid)`,
    );
  }
  const order = `ORDER BY w."createdAt" DESC, w.id DESC`;
  const limit = where.param(filters.limit);
  const states = [...new Set(filters.states ?? [])];
  if (states.length <= 1) {
    if (states[0]) where.and(`w.state = ${where.param(states[0])}::"WorkState"`);
    return {
      text: `SELECT ${SUMMARY_COLUMNS} FROM "Work" w ${where.toSql()} ${order} LIMIT ${limit}`,
      values: where.params,
    };
  }
  const common = where.toSql();
  const branches = states.map((state) => {
    const clause = `w.state = ${where.param(state)}::"WorkState"`;
    return `(SELECT w.* FROM "Work" w ${common} AND ${clause} ${order} LIMIT ${limit})`;
  });
  return {
    text: `SELECT ${SUMMARY_COLUMNS} FROM (${branches.join(' UNION ALL ')}) w ${order} LIMIT ${limit}`,
    values: where.params,
  };
}
