import { Injectable } from '@nestjs/common';
import { WORK_STATES, type WorkState } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { decodeCursor, nextCursorOf } from './keyset-cursor.util';
import {
  type InboundEventView,
  type LeaseView,
  type LedgerStats,
  type ModelCallView,
  type Page,
  type StepView,
  type TimelineEntry,
  type WaitView,
  type WorkDetail,
  type WorkFields,
  type WorkFilters,
  type WorkResultView,
  type WorkSummary,
} from './operator.types';
import { containsPattern, SqlWhere } from './sql-where.util';

/** The columns of WorkSummary; `costUsd` sums the work's model calls (indexed on workId). */
const SUMMARY_COLUMNS = `w.id, w.kind, w.state, w.attempt, w."sourceType" AS channel, w."conversationKey",
  w."waitReason", w."createdAt", w."updatedAt", w."runAfter", w."parentId",
  COALESCE((SELECT sum(m."costUsd") FROM "ModelCall" m WHERE m."workId" = w.id), 0)::float8 AS "costUsd"`;

export const INBOX_COLUMNS = `id, channel, source, "externalId", "conversationKey", "correlationKey", actor, body,
  decision::text AS decision, reason, "workId", "waitId", "consumedAt", "receivedAt"`;

/**
 * The statement behind GET /api/v1/works (exported so the ledger-size benchmark can
 * EXPLAIN exactly what the API runs). Newest first on `(createdAt, id)`, so each page
 * should be a short walk down an index, however large the ledger:
 * - one state is an equality, which the `(state, createdAt)` index serves in order
 *   (`state = ANY(…)` cannot: PostgreSQL then walks `createdAt` and filters, and a rare
 *   state means reading most of the table to fill a page);
 * - several states are one ordered branch each (UNION ALL, a page from each), merged;
 * - the other filters narrow a branch; `kind` and `conversationKey` have indexes of
 *   their own the planner may prefer.
 * `q` matches the input's JSON text with ILIKE (a scan over the rows the other filters
 * leave; fine for an operator's search, and a pg_trgm index would make it fast if it
 * ever matters).
 */
export function worksListQuery(filters: WorkFilters): { text: string; values: unknown[] } {
  const where = new SqlWhere();
  if (filters.kind) where.and(`w.kind = ${where.param(filters.kind)}`);
  if (filters.channel) where.and(`w."sourceType" = ${where.param(filters.channel)}`);
  if (filters.conversationKey)
    where.and(`w."conversationKey" = ${where.param(filters.conversationKey)}`);
  if (filters.createdFrom) where.and(`w."createdAt" >= ${where.param(filters.createdFrom)}`);
  if (filters.createdTo) where.and(`w."createdAt" < ${where.param(filters.createdTo)}`);
  if (filters.updatedFrom) where.and(`w."updatedAt" >= ${where.param(filters.updatedFrom)}`);
  if (filters.updatedTo) where.and(`w."updatedAt" < ${where.param(filters.updatedTo)}`);
  if (filters.q)
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
    const filter = common ? `${common} AND ${clause}` : `WHERE ${clause}`;
    return `(SELECT w.* FROM "Work" w ${filter} ${order} LIMIT ${limit})`;
  });
  return {
    text: `SELECT ${SUMMARY_COLUMNS} FROM (${branches.join(' UNION ALL ')}) w ${order} LIMIT ${limit}`,
    values: where.params,
  };
}

/**
 * What operators read about works: lists with filters, one work in full, leases and
 * counts. Plain SQL on the shared pool, outside transactions: each answer is one
 * statement (or a few independent ones), and a read never blocks a worker's write.
 */
@Injectable()
export class OperatorWorksRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /**
   * Newest first, `(createdAt DESC, id DESC)`, keyset-paginated (see worksListQuery for
   * the statement and the indexes that serve it).
   */
  async list(filters: WorkFilters): Promise<Page<WorkSummary>> {
    const query = worksListQuery(filters);
    const rows = await this.query<WorkSummary>(query.text, query.values);
    return {
      items: rows,
      nextCursor: nextCursorOf(rows, filters.limit, (w) => ({ at: w.createdAt, id: w.id })),
    };
  }

  async summary(id: string): Promise<WorkSummary | null> {
    const rows = await this.query<WorkSummary>(
      `SELECT ${SUMMARY_COLUMNS} FROM "Work" w WHERE w.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** What a caller waiting for a work's result needs, in one indexed read. */
  async result(id: string): Promise<WorkResultView | null> {
    const rows = await this.query<WorkResultView>(
      'SELECT id, kind, state, output, error, "finishedAt" FROM "Work" WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }

  /** One work in full. The parts are read concurrently, each a consistent snapshot of its own. */
  async detail(id: string): Promise<WorkDetail | null> {
    const works = await this.query<WorkFields & { leaseToken: string }>(
      `SELECT ${SUMMARY_COLUMNS}, w."sourceType", w."sourceId", w."pausedFrom", w.input, w.output, w.error,
         w."retryPolicy", w."runSeq", w."leaseOwner", w."leaseToken"::text AS "leaseToken", w."leaseExpiresAt",
         w."lastHeartbeatAt", w."checkpointSeq", w."pauseRequested", w."cancelRequested", w.version, w."finishedAt"
       FROM "Work" w WHERE w.id = $1`,
      [id],
    );
    const work = works[0];
    if (!work) return null;
    const [timeline, steps, waits, inbox, modelCalls, parent, children] = await Promise.all([
      this.query<TimelineEntry>(
        `SELECT seq, type, data, actor, at FROM "WorkEvent" WHERE "workId" = $1 ORDER BY seq`,
        [id],
      ),
      this.query<StepView>(
        `SELECT seq, name, type, status, attempt, "idempotencyKey", input, output, error, "workerId",
           "startedAt", "heartbeatAt", "finishedAt",
           (extract(epoch FROM "finishedAt" - "startedAt") * 1000)::float8 AS "durationMs"
         FROM "Step" WHERE "workId" = $1 ORDER BY seq`,
        [id],
      ),
      this.query<WaitView>(
        `SELECT id, "stepSeq", type, status, "conversationKey", "correlationKey", expects, responders,
           "resumeChannel", "timeoutAt", "onTimeout", escalation, "escalationRung", "defaultValue", result,
           "satisfiedByEventId", "createdAt", "resolvedAt"
         FROM "Wait" WHERE "workId" = $1 ORDER BY "stepSeq"`,
        [id],
      ),
      this.query<InboundEventView>(
        `SELECT ${INBOX_COLUMNS} FROM "InboundEvent"
         WHERE "workId" = $1 AND decision IN ('inbox', 'collected') AND "consumedAt" IS NULL ORDER BY seq`,
        [id],
      ),
      this.query<ModelCallView>(
        `SELECT id, "stepId", provider, model, "inputTokens", "outputTokens", "cachedTokens",
           "costUsd"::float8 AS "costUsd", "finishReason", "latencyMs", "createdAt"
         FROM "ModelCall" WHERE "workId" = $1 ORDER BY "createdAt", id`,
        [id],
      ),
      work.parentId ? this.summary(work.parentId) : Promise.resolve(null),
      this.query<WorkSummary>(
        `SELECT ${SUMMARY_COLUMNS} FROM "Work" w WHERE w."parentId" = $1 ORDER BY w."createdAt", w.id`,
        [id],
      ),
    ]);
    return {
      work,
      timeline,
      steps,
      waits,
      inbox,
      modelCalls,
      costUsd: work.costUsd,
      parent,
      children,
    };
  }

  /**
   * RUNNING works and their leases, soonest expiry first. `expired` is judged against
   * `now` from the caller's clock, the same clock the sweeper uses. Every claim sets an
   * expiry, so a RUNNING work has one; the plain ascending order lets the
   * `(state, leaseExpiresAt)` index hand over the first page without sorting every
   * running work (NULLS FIRST could not use it).
   */
  async leases(opts: { now: Date; expiredOnly?: boolean; limit: number }): Promise<LeaseView[]> {
    return this.query<LeaseView>(
      `SELECT id AS "workId", kind, attempt, "leaseOwner", "leaseToken"::text AS "leaseToken",
         "leaseExpiresAt", "lastHeartbeatAt", COALESCE("leaseExpiresAt" < $1, false) AS expired
       FROM "Work"
       WHERE state = 'RUNNING' AND ($2::boolean IS NOT TRUE OR "leaseExpiresAt" < $1)
       ORDER BY "leaseExpiresAt", id LIMIT $3`,
      [opts.now, opts.expiredOnly ?? false, opts.limit],
    );
  }

  /** Works per state (every state present) and model spend per UTC day in [since, until). */
  async stats(since: Date, until: Date): Promise<LedgerStats> {
    const [states, costs] = await Promise.all([
      this.query<{ state: WorkState; n: number }>(
        `SELECT state, count(*)::int AS n FROM "Work" GROUP BY state`,
      ),
      this.query<{ day: string; costUsd: number }>(
        `SELECT to_char(("createdAt" AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
           sum("costUsd")::float8 AS "costUsd"
         FROM "ModelCall" WHERE "createdAt" >= $1 AND "createdAt" < $2 GROUP BY 1 ORDER BY 1`,
        [since, until],
      ),
    ]);
    const byState = Object.fromEntries(WORK_STATES.map((s) => [s, 0])) as Record<WorkState, number>;
    for (const row of states) byState[row.state] = row.n;
    return { byState, costPerDay: costs };
  }

  private async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const { rows } = await this.db.pool.query(sql, params);
      return rows as T[];
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
