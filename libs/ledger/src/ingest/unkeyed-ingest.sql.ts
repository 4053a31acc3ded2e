import { NEW_WORK_COLUMNS, NEW_WORK_TYPES, newWorkValues } from '../work/work.repository';

/** The event columns, with the type of each value of a DecidedEvent's `event`. */
export const EVENT_COLUMNS: Array<[string, string]> = [
  ['id', 'uuid'],
  ['channel', 'text'],
  ['source', 'text'],
  ['"externalId"', 'text'],
  ['actor', 'jsonb'],
  ['raw', 'jsonb'],
  ['body', 'jsonb'],
  ['answer', 'jsonb'],
  ['decision', '"RouteDecision"'],
  ['reason', 'text'],
  ['"workId"', 'uuid'],
];
export const CREATED_TYPES = ['jsonb', 'text', 'timestamptz'];

/**
 * A batch of decided events, each with the work it opens (if any) and that work's first
 * timeline entry, as ONE statement: one array parameter per column, unnest()ed into
 * rows. Only events the dedupe insert took open their work (the joins on `event`); a
 * duplicate — of an earlier event or of one earlier in the same batch — writes nothing.
 */
export const WRITE_DECIDED = (() => {
  let n = 0;
  const param = (type: string) => `$${++n}::${type}[]`;
  const columns = [
    ...EVENT_COLUMNS.map(([, type], i) => [`e${i}`, param(type)]),
    ...NEW_WORK_TYPES.map((type, i) => [`w${i}`, param(type)]),
    ...CREATED_TYPES.map((type, i) => [`c${i}`, param(type)]),
  ];
  return `
    WITH input AS (
      SELECT * FROM unnest(${columns.map(([, p]) => p).join(', ')})
        AS i(${columns.map(([name]) => name).join(', ')})
    ), event AS (
      INSERT INTO "InboundEvent" (${EVENT_COLUMNS.map(([c]) => c).join(', ')})
      SELECT ${EVENT_COLUMNS.map((_, i) => `e${i}`).join(', ')} FROM input
      ON CONFLICT (channel, "externalId") DO NOTHING
      RETURNING id
    ), work AS (
      INSERT INTO "Work" (${NEW_WORK_COLUMNS})
      SELECT ${newWorkValues((i) => `i.w${i}`)} FROM input i JOIN event e ON e.id = i.e0
      WHERE i.w0 IS NOT NULL
      RETURNING id
    ), timeline AS (
      INSERT INTO "WorkEvent" ("workId", seq, type, data, actor, at)
      SELECT i.w0, 1, 'created', i.c0, i.c1, i.c2 FROM input i JOIN work w ON w.id = i.w0
    )
    SELECT id FROM event`;
})();
