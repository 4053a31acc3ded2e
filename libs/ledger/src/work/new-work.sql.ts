/*
 * How a new Work row is written (WorkRepository.create, ingest's one-statement path):
 * the columns, the type of each value planCreate() makes, and the value list.
 */

/** The columns a new Work row is written with (create(), ingest's one-statement path). */
export const NEW_WORK_COLUMNS = `id, kind, state, "sourceType", "sourceId", "conversationKey", "parentId", input,
  attempt, "retryPolicy", "runSeq", "replyAddress", title, "leaseToken", "checkpointSeq", version, "createdAt", "updatedAt"`;

/** The type of each of planCreate()'s values, in order. */
export const NEW_WORK_TYPES = [
  'uuid',
  'text',
  '"WorkState"',
  'text',
  'text',
  'text',
  'uuid',
  'jsonb',
  'int',
  'jsonb',
  'int',
  'jsonb',
  'text',
] as const;

/**
 * The value list for NEW_WORK_COLUMNS: `value(i, type)` names planCreate()'s i-th value
 * (a parameter, or an unnest()ed batch's column), then what every new work starts with.
 */
export function newWorkValues(value: (i: number, type: string) => string): string {
  return `${NEW_WORK_TYPES.map((t, i) => value(i, t)).join(', ')}, 0, 0, 0, now(), now()`;
}
