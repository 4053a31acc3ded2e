import { Injectable } from '@nestjs/common';
import { WORK_STATES, type WorkState } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { LedgerReadDatabase } from '../database/ledger-read-database';
import { unlessUnavailable } from '../database/database-errors';
import { type Prisma } from '../generated/prisma/client';
import { nextCursorOf } from './keyset-cursor.util';
import { keysetBefore } from './keyset-where.util';
import {
  type LeaseView,
  type LedgerStats,
  type Page,
  type WorkDetail,
  type WorkFilters,
  type WorkResultView,
  type WorkSummary,
} from './operator.types';
import {
  DETAIL_SELECT,
  INBOX_SELECT,
  MODEL_CALL_SELECT,
  STEP_SELECT,
  SUMMARY_SELECT,
  TIMELINE_SELECT,
  toModelCallView,
  toStepView,
  toSummary,
  toWorkFields,
  WAIT_SELECT,
} from './operator-selects';
import { worksSearchQuery } from './works-search.sql';

const NEWEST_FIRST = [
  { createdAt: 'desc' },
  { id: 'desc' },
] as const satisfies Prisma.WorkOrderByWithRelationInput[];

/**
 * What operators read about works: lists with filters, one work in full, leases and
 * counts. Prisma Client on the shared pool, outside transactions: each answer is a few
 * independent statements, and a read never blocks a worker's write. The one exception
 * is the free-text search (`q`), which stays SQL (see worksSearchQuery).
 *
 * Lists, search and stats read from `replica` (DATABASE_READ_URL when set): they are
 * lag-tolerant. A work's own page and result read the primary, so an operator who just
 * started or steered a work sees it at once.
 */
@Injectable()
export class OperatorWorksRepository {
  private readonly replica: LedgerDatabase;

  constructor(
    private readonly db: LedgerDatabase,
    read: LedgerReadDatabase,
  ) {
    this.replica = read.db;
  }

  private get prisma() {
    return this.db.prisma;
  }

  /**
   * Newest first, `(createdAt DESC, id DESC)`, keyset-paginated, each page a short walk
   * down an index however large the ledger:
   * - one state is an equality, which the `(state, createdAt)` index serves in order;
   * - several states are one ordered query each (a page from each), merged here:
   *   `state IN (…)` cannot use that index in order, and a rare state would mean
   *   reading most of the table to fill a page;
   * - the other filters narrow a branch; `kind` and `conversationKey` have indexes of
   *   their own the planner may prefer.
   */
  async list(filters: WorkFilters): Promise<Page<WorkSummary>> {
    const rows = filters.q
      ? await this.search({ ...filters, q: filters.q })
      : await unlessUnavailable(() => this.listByPrisma(filters));
    return {
      items: rows,
      nextCursor: nextCursorOf(rows, filters.limit, (w) => ({ at: w.createdAt, id: w.id })),
    };
  }

  async summary(id: string): Promise<WorkSummary | null> {
    return unlessUnavailable(async () => {
      const [row, costs] = await Promise.all([
        this.prisma.work.findUnique({ where: { id }, select: SUMMARY_SELECT }),
        this.costsOf([id]),
      ]);
      return row ? toSummary(row, costs) : null;
    });
  }

  /** What a caller waiting for a work's result needs, in one indexed read. */
  async result(id: string): Promise<WorkResultView | null> {
    return unlessUnavailable(() =>
      this.prisma.work.findUnique({
        where: { id },
        select: { id: true, kind: true, state: true, output: true, error: true, finishedAt: true },
      }),
    );
  }

  /** One work in full. The parts are read concurrently, each a consistent snapshot of its own. */
  async detail(id: string): Promise<WorkDetail | null> {
    return unlessUnavailable(async () => {
      const [row, costs] = await Promise.all([
        this.prisma.work.findUnique({ where: { id }, select: DETAIL_SELECT }),
        this.costsOf([id]),
      ]);
      if (!row) return null;
      const work = toWorkFields(row, costs);
      const byWork = { where: { workId: id } } as const;
      const [timeline, steps, waits, inbox, modelCalls, parent, children] = await Promise.all([
        this.prisma.workEvent.findMany({
          ...byWork,
          select: TIMELINE_SELECT,
          orderBy: { seq: 'asc' },
        }),
        this.prisma.step.findMany({ ...byWork, select: STEP_SELECT, orderBy: { seq: 'asc' } }),
        this.prisma.wait.findMany({ ...byWork, select: WAIT_SELECT, orderBy: { stepSeq: 'asc' } }),
        this.prisma.inboundEvent.findMany({
          where: { workId: id, decision: { in: ['inbox', 'collected'] }, consumedAt: null },
          select: INBOX_SELECT,
          orderBy: { seq: 'asc' },
        }),
        this.prisma.modelCall.findMany({
          ...byWork,
          select: MODEL_CALL_SELECT,
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        }),
        work.parentId ? this.summary(work.parentId) : Promise.resolve(null),
        this.children(id),
      ]);
      return {
        work,
        timeline,
        steps: steps.map(toStepView),
        waits,
        inbox,
        modelCalls: modelCalls.map(toModelCallView),
        costUsd: work.costUsd,
        parent,
        children,
      };
    });
  }

  /**
   * RUNNING works and their leases, soonest expiry first. `expired` is judged against
   * `now` from the caller's clock, the same clock the sweeper uses. Every claim sets an
   * expiry, so a RUNNING work has one; the plain ascending order lets the
   * `(state, leaseExpiresAt)` index hand over the first page without sorting every
   * running work (NULLS FIRST could not use it).
   */
  async leases(opts: { now: Date; expiredOnly?: boolean; limit: number }): Promise<LeaseView[]> {
    const rows = await unlessUnavailable(() =>
      this.prisma.work.findMany({
        where: {
          state: 'RUNNING',
          ...(opts.expiredOnly ? { leaseExpiresAt: { lt: opts.now } } : {}),
        },
        select: {
          id: true,
          kind: true,
          attempt: true,
          leaseOwner: true,
          leaseToken: true,
          leaseExpiresAt: true,
          lastHeartbeatAt: true,
        },
        orderBy: [{ leaseExpiresAt: 'asc' }, { id: 'asc' }],
        take: opts.limit,
      }),
    );
    return rows.map((w) => ({
      workId: w.id,
      kind: w.kind,
      attempt: w.attempt,
      leaseOwner: w.leaseOwner,
      leaseToken: w.leaseToken.toString(),
      leaseExpiresAt: w.leaseExpiresAt,
      lastHeartbeatAt: w.lastHeartbeatAt,
      expired: w.leaseExpiresAt !== null && w.leaseExpiresAt < opts.now,
    }));
  }

  /**
   * Works per state (every state present) and model spend per UTC day in [since, until).
   * The counts are Prisma's groupBy; the spend per day stays SQL, because it groups by
   * an expression (the UTC date of createdAt), which groupBy cannot, and summing in
   * JavaScript would read every model call of the period.
   */
  async stats(since: Date, until: Date): Promise<LedgerStats> {
    const [states, costs] = await unlessUnavailable(() =>
      Promise.all([
        this.replica.prisma.work.groupBy({ by: ['state'], _count: { _all: true } }),
        this.replica.pool.query<{ day: string; costUsd: number }>(
          `SELECT to_char(("createdAt" AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
             sum("costUsd")::float8 AS "costUsd"
           FROM "ModelCall" WHERE "createdAt" >= $1 AND "createdAt" < $2 GROUP BY 1 ORDER BY 1`,
          [since, until],
        ),
      ]),
    );
    const byState = Object.fromEntries(WORK_STATES.map((s) => [s, 0])) as Record<WorkState, number>;
    for (const row of states) byState[row.state] = row._count._all;
    return { byState, costPerDay: costs.rows };
  }

  private async listByPrisma(filters: WorkFilters): Promise<WorkSummary[]> {
    // Prisma leaves out a filter whose value is undefined.
    const where: Prisma.WorkWhereInput = {
      kind: filters.kind,
      sourceType: filters.channel,
      conversationKey: filters.conversationKey,
      createdAt: { gte: filters.createdFrom, lt: filters.createdTo },
      updatedAt: { gte: filters.updatedFrom, lt: filters.updatedTo },
      ...keysetBefore('createdAt', filters.cursor),
    };
    const states = [...new Set(filters.states ?? [])];
    const branches = states.length ? states.map((state) => ({ ...where, state })) : [where];
    const pages = await Promise.all(
      branches.map((branch) =>
        this.replica.prisma.work.findMany({
          where: branch,
          select: SUMMARY_SELECT,
          orderBy: [...NEWEST_FIRST],
          take: filters.limit,
        }),
      ),
    );
    const rows = pages
      .flat()
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || compareIds(b.id, a.id))
      .slice(0, filters.limit);
    const costs = await this.costsOf(
      rows.map((r) => r.id),
      this.replica,
    );
    return rows.map((r) => toSummary(r, costs));
  }

  private async search(filters: WorkFilters & { q: string }): Promise<WorkSummary[]> {
    const query = worksSearchQuery(filters);
    const { rows } = await unlessUnavailable(() =>
      this.replica.pool.query<WorkSummary>(query.text, query.values),
    );
    return rows;
  }

  private async children(id: string): Promise<WorkSummary[]> {
    const rows = await this.prisma.work.findMany({
      where: { parentId: id },
      select: SUMMARY_SELECT,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    const costs = await this.costsOf(rows.map((r) => r.id));
    return rows.map((r) => toSummary(r, costs));
  }

  /** Model spend per work (a sum over the workId index); works without calls are absent. */
  private async costsOf(ids: string[], from = this.db): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const sums = await from.prisma.modelCall.groupBy({
      by: ['workId'],
      where: { workId: { in: ids } },
      _sum: { costUsd: true },
    });
    return new Map(sums.map((s) => [s.workId, s._sum.costUsd?.toNumber() ?? 0]));
  }
}

/** PostgreSQL's uuid order: byte order, which is the order of the lowercase hex text. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
