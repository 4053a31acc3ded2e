import { Inject, Injectable } from '@nestjs/common';
import {
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestResult,
  LIVE_STATES,
  type RouteCandidates,
  route,
  wrapStepOutput,
} from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { type WaitRow } from '../waits/wait.repository';
import { type WorkRow } from '../work/work-row';
import { WorkRepository } from '../work/work.repository';
import { CORRELATED_WORKS, GUARD_MISSED, RESUME_KNOWN } from './correlated-resume.sql';
import { actorOf, conversationLocks, eventValues, isPersonal } from './ingest-event.util';
import { RouteCandidateReader } from './route-candidates';

/** A Wait row as json_agg returns it: timestamps as strings. */
type WaitJson = Omit<WaitRow, 'createdAt' | 'timeoutAt' | 'resolvedAt'> & {
  createdAt: string;
  timeoutAt: string | null;
  resolvedAt: string | null;
};

type CorrelatedRow = WorkRow & { __waits: WaitJson[] };

/**
 * The common case of an answer: an event with a correlation key (a webhook answering
 * `ctx.waitFor`) that resumes an open wait of a WAITING work. The candidates and the
 * work are read outside any transaction, route() decides on them, and it is all
 * written in ONE statement (RESUME_KNOWN) that lands only on the rows as they were
 * read — three round trips (read, write, enqueue) instead of the transaction's seven.
 * Whatever else the event needs (another decision, a person's wait with its
 * responders and prompt, a work that moved on, a duplicate) takes the transaction:
 * null. The transaction routes under the locks; this one routes on a read made just
 * before them, which is the same as routing the event at that read: every row the
 * decision rests on is re-checked, as committed, when the statement locks it.
 */
@Injectable()
export class CorrelatedResume {
  constructor(
    private readonly db: LedgerDatabase,
    private readonly works: WorkRepository,
    private readonly candidates: RouteCandidateReader,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async tryResume(
    input: InboundEventInput,
  ): Promise<{ result: IngestResult; dispatches: Dispatch[] } | null> {
    if (!input.correlationKey || input.reference || input.replyTo || input.button || input.command)
      return null;
    const { rows } = await this.db.pool.query<CorrelatedRow>({
      name: 'ingest-correlated-works',
      text: CORRELATED_WORKS,
      values: [input.correlationKey, LIVE_STATES],
    });
    if (rows.length === 0) return null;
    const { candidates, waits } = this.toCandidates(rows, input);
    const outcome = route(
      {
        conversationKey: input.conversationKey,
        correlationKey: input.correlationKey,
        reference: null,
        command: null,
      },
      candidates,
      input.route,
    );
    if (outcome.decision !== 'resume') return null;
    const wait = waits.get(outcome.waitId);
    const work = rows.find((r) => r.id === outcome.workId);
    if (!wait || !work || isPersonal(wait)) return null;
    const eventId = this.ids.uuid();
    const plan = this.works.planKnown(
      work,
      { type: 'wait_satisfied' },
      { actor: actorOf(input), data: { eventId, waitId: wait.id } },
      'EXISTS (SELECT 1 FROM wait)',
    );
    if (plan === 'stale' || !plan.ok) return null;
    const written = await this.write(plan, input, eventId, wait, outcome.reason);
    if (!written) return null;
    return {
      result: {
        eventId,
        decision: 'resumed',
        reason: outcome.reason,
        workId: work.id,
        waitId: wait.id,
        duplicate: false,
      },
      dispatches: plan.outcome.dispatches,
    };
  }

  private toCandidates(
    rows: CorrelatedRow[],
    input: InboundEventInput,
  ): { candidates: RouteCandidates; waits: Map<string, WaitRow> } {
    const waits = new Map<string, WaitRow>();
    const candidates: RouteCandidates = {
      referenced: null,
      correlated: rows.map(({ __waits, ...work }) => {
        const revived = __waits.map(reviveWait);
        for (const w of revived) waits.set(w.id, w);
        return this.candidates.toCandidate(work, revived, input);
      }),
      conversation: [],
    };
    return { candidates, waits };
  }

  /** RESUME_KNOWN; false when it wrote nothing or failed in a way that means "take the transaction". */
  private async write(
    plan: { ctes: string; values: unknown[] },
    input: InboundEventInput,
    eventId: string,
    wait: WaitRow,
    reason: string,
  ): Promise<boolean> {
    try {
      const { rows } = await this.db.pool.query<{ id: string | null }>({
        name: 'ingest-resume-known',
        text: RESUME_KNOWN(plan.ctes),
        values: [
          ...plan.values,
          conversationLocks(input),
          JSON.stringify(input.answer ?? null),
          eventId,
          wait.id,
          // As WaitRepository.resolve() completes a step: its output wrapped as { v }.
          JSON.stringify(wrapStepOutput(input.answer ?? null)),
          ...eventValues(input),
          reason,
        ],
      });
      return !!rows[0]?.id;
    } catch (err) {
      const { code, message } = err as { code?: string; message?: string };
      if (code === '23505' || (code === '22P02' && message?.includes(GUARD_MISSED))) return false;
      throw err;
    }
  }
}

function reviveWait(w: WaitJson): WaitRow {
  const date = (v: string | null) => (v === null ? null : new Date(v));
  return {
    ...w,
    createdAt: new Date(w.createdAt),
    timeoutAt: date(w.timeoutAt),
    resolvedAt: date(w.resolvedAt),
  };
}
