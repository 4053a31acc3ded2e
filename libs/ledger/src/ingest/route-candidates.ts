import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import {
  type InboundEventInput,
  LIVE_STATES,
  type RouteCandidates,
  type WorkCandidate,
  type WorkState,
  typedAnswer,
} from '@app/core';
import { type WaitRow } from '../waits/wait.repository';
import { AnswerValidator } from './answer-validator';

/** The candidates route() decides on, and the wait rows they were built from. */
export interface Loaded {
  candidates: RouteCandidates;
  waits: Map<string, WaitRow>;
}

type WorkHead = { id: string; state: WorkState; createdAt: Date };

/**
 * Reads what route() decides an event on: the work it references, the live works
 * waiting on its correlation key, or the live works of its conversation — each with the
 * waits it could answer, and whether the event fits each one (`accepts`).
 */
@Injectable()
export class RouteCandidateReader {
  constructor(private readonly validator: AnswerValidator) {}

  /**
   * The candidates, and the wait rows behind them (whole rows: the resume and reject
   * cases read responders, expects and the prompt from them instead of reading the
   * wait again).
   */
  async load(client: PoolClient, event: InboundEventInput): Promise<Loaded> {
    const loaded: Loaded = {
      candidates: { referenced: null, correlated: [], conversation: [] },
      waits: new Map<string, WaitRow>(),
    };
    // /new opens (or drops) whatever the candidates: route() does not read them.
    if (event.command === 'new') return loaded;
    if (event.reference) {
      await this.loadReferenced(client, event, event.reference, loaded);
      return loaded;
    }
    // route() decides within a live correlated work whenever there is one (rule 1b)
    // and never reads the conversation then; every row here is of a live work.
    if (event.correlationKey && (await this.loadCorrelated(client, event, loaded))) return loaded;
    if (event.conversationKey) await this.loadConversation(client, event, loaded);
    return loaded;
  }

  private async loadReferenced(
    client: PoolClient,
    event: InboundEventInput,
    reference: NonNullable<InboundEventInput['reference']>,
    loaded: Loaded,
  ): Promise<void> {
    const { rows } = await client.query<WorkHead>({
      name: 'ingest-referenced',
      text: 'SELECT id, state, "createdAt" FROM "Work" WHERE id = $1',
      values: [reference.workId],
    });
    if (!rows[0]) return;
    const waits = keep(loaded, await this.waitsOf(client, [rows[0].id], reference.waitId));
    loaded.candidates.referenced = this.toCandidate(rows[0], waits, event);
  }

  /** True when a live work waits on the key (the conversation is then not read). */
  private async loadCorrelated(
    client: PoolClient,
    event: InboundEventInput,
    loaded: Loaded,
  ): Promise<boolean> {
    const { rows } = await client.query<WaitRow & { state: WorkState; workCreatedAt: Date }>({
      name: 'ingest-correlated',
      text: `SELECT w.*, k.state, k."createdAt" AS "workCreatedAt"
         FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
         WHERE w."correlationKey" = $1 AND k.state = ANY($2::"WorkState"[])`,
      values: [event.correlationKey, LIVE_STATES],
    });
    const byWork = new Map<string, { work: WorkHead; waits: WaitRow[] }>();
    for (const r of rows) {
      const entry = byWork.get(r.workId) ?? {
        work: { id: r.workId, state: r.state, createdAt: r.workCreatedAt },
        waits: [],
      };
      entry.waits.push(r);
      loaded.waits.set(r.id, r);
      byWork.set(r.workId, entry);
    }
    loaded.candidates.correlated = [...byWork.values()].map((e) =>
      this.toCandidate(e.work, e.waits, event),
    );
    if (loaded.candidates.correlated.length) return true;
    const { rows: closed } = await client.query<{
      waitId: string;
      workId: string;
      status: WaitRow['status'];
      workState: WorkState;
    }>({
      name: 'ingest-lapsed-wait',
      text: `SELECT w.id AS "waitId", w."workId", w.status, k.state AS "workState"
         FROM "Wait" w JOIN "Work" k ON k.id = w."workId"
         WHERE w."correlationKey" = $1 ORDER BY w."createdAt" DESC LIMIT 1`,
      values: [event.correlationKey],
    });
    loaded.candidates.lapsed = closed[0] ?? null;
    return false;
  }

  private async loadConversation(
    client: PoolClient,
    event: InboundEventInput,
    loaded: Loaded,
  ): Promise<void> {
    const { rows } = await client.query<WorkHead>({
      name: 'ingest-conversation',
      text: 'SELECT id, state, "createdAt" FROM "Work" WHERE "conversationKey" = $1 AND state = ANY($2::"WorkState"[]) ORDER BY "createdAt" LIMIT 50',
      values: [event.conversationKey, LIVE_STATES],
    });
    if (!rows.length) return;
    const waits = keep(
      loaded,
      await this.waitsOf(
        client,
        rows.map((r) => r.id),
      ),
    );
    loaded.candidates.conversation = rows.map((r) =>
      this.toCandidate(
        r,
        waits.filter((w) => w.workId === r.id),
        event,
      ),
    );
  }

  private async waitsOf(
    client: PoolClient,
    workIds: string[],
    alsoWaitId?: string,
  ): Promise<WaitRow[]> {
    const { rows } = await client.query<WaitRow>({
      name: 'ingest-waits-of',
      text: `SELECT * FROM "Wait" WHERE "workId" = ANY($1::uuid[]) AND (status = 'open' OR id = $2::uuid)`,
      values: [workIds, alsoWaitId ?? null],
    });
    return rows;
  }

  toCandidate(work: WorkHead, waits: WaitRow[], event: InboundEventInput): WorkCandidate {
    return {
      workId: work.id,
      state: work.state,
      createdAt: work.createdAt.getTime(),
      waits: waits.map((w) => ({
        waitId: w.id,
        workId: w.workId,
        status: w.status,
        createdAt: w.createdAt.getTime(),
        accepts: w.status === 'open' && this.accepts(w, event),
      })),
    };
  }

  /** Can this event answer this wait? Timers and child waits are never answered by events. */
  private accepts(wait: WaitRow, event: InboundEventInput): boolean {
    if (wait.type === 'timer' || wait.type === 'child') return false;
    if (wait.correlationKey !== null && wait.correlationKey !== event.correlationKey) return false;
    return this.validator.validate(wait.expects, typedAnswer(wait.expects, event.answer)).ok;
  }
}

function keep(loaded: Loaded, rows: WaitRow[]): WaitRow[] {
  for (const w of rows) loaded.waits.set(w.id, w);
  return rows;
}
