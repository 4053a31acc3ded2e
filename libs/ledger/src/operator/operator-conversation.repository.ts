import { Injectable } from '@nestjs/common';
import { askChoices } from '@app/core';
import { LedgerDatabase } from '../database/ledger-database';
import { translateDatabaseError } from '../database/database-errors';
import { type Prisma } from '../generated/prisma/client';

/**
 * The router decisions by which an inbound event became part of a work's conversation:
 * it opened the work, answered its wait, reached its inbox (read or not yet), or
 * interrupted its step. Refusals, "which one?" questions, drops and commands were
 * answered by the gateway, not by the work, and stay in the events list. Of those
 * events, only messages count: a body with text (a chat message, a button's label).
 * An API start or a webhook delivery carries data, not something a person said.
 */
export const CONVERSATION_DECISIONS = [
  'opened',
  'resumed',
  'inbox',
  'collected',
  'interrupted',
] as const;
export type ConversationDecision = (typeof CONVERSATION_DECISIONS)[number];

/** What a person said to the work, as the channel normalized it. */
export interface InboundChatMessage {
  direction: 'inbound';
  /** The InboundEvent id. */
  id: string;
  at: Date;
  channel: string;
  /** The actor's display name, else its channel-scoped id (`telegram:111`). */
  from: string | null;
  actorId: string | null;
  /** The message text, or a pressed button's label. */
  text: string;
  decision: ConversationDecision;
  /** False only for an inbox event the work has not taken yet (ctx.inbox()). */
  read: boolean;
}

/** What the work (or the gateway on its behalf) sent, with its delivery state. */
export interface OutboundChatMessage {
  direction: 'outbound';
  /** The Outbox id. */
  id: string;
  at: Date;
  channel: string;
  target: string;
  /** The payload's kind: message (ctx.send), ask (a wait's prompt), notice, answered (an edit). */
  kind: string;
  text: string | null;
  /** The buttons an ask renders, by label; empty for a free-text prompt. */
  choices: string[];
  /** On an `answered` edit: who answered the prompt, and what. */
  answeredBy: string | null;
  answer: unknown;
  status: 'pending' | 'sent' | 'failed' | 'cancelled';
  attempts: number;
  sentAt: Date | null;
  lastError: string | null;
}

export type ConversationMessage = InboundChatMessage | OutboundChatMessage;

export interface Conversation {
  /** Oldest first: the newest `limit` messages of the conversation. */
  items: ConversationMessage[];
  /** True when older messages were left out. */
  truncated: boolean;
}

const inboundSelect = {
  id: true,
  channel: true,
  actor: true,
  body: true,
  decision: true,
  consumedAt: true,
  receivedAt: true,
} satisfies Prisma.InboundEventSelect;
type InboundRow = Prisma.InboundEventGetPayload<{ select: typeof inboundSelect }>;

const outboxSelect = {
  id: true,
  channel: true,
  target: true,
  payload: true,
  status: true,
  attempts: true,
  lastError: true,
  createdAt: true,
  sentAt: true,
} satisfies Prisma.OutboxSelect;
type OutboxSelected = Prisma.OutboxGetPayload<{ select: typeof outboxSelect }>;

const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
const stringOr = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

const textOf = (row: InboundRow) => stringOr(asRecord(row.body).text);

function inboundMessage(row: InboundRow): InboundChatMessage {
  const actor = asRecord(row.actor);
  const decision = row.decision as ConversationDecision;
  return {
    direction: 'inbound',
    id: row.id,
    at: row.receivedAt,
    channel: row.channel,
    from: stringOr(actor.name) ?? stringOr(actor.id),
    actorId: stringOr(actor.id),
    text: textOf(row) ?? '',
    decision,
    read: !(decision === 'inbox' || decision === 'collected') || row.consumedAt !== null,
  };
}

function outboundMessage(row: OutboxSelected): OutboundChatMessage {
  const payload = asRecord(row.payload);
  const kind = stringOr(payload.kind) ?? 'message';
  const choices =
    kind === 'ask'
      ? (askChoices(payload.expects ? asRecord(payload.expects) : null) ?? []).map((c) => c.label)
      : [];
  return {
    direction: 'outbound',
    id: row.id,
    at: row.createdAt,
    channel: row.channel,
    target: row.target,
    kind,
    text: stringOr(payload.text),
    choices,
    answeredBy: kind === 'answered' ? stringOr(payload.answeredBy) : null,
    answer: kind === 'answered' ? (payload.answer ?? null) : null,
    status: row.status,
    attempts: row.attempts,
    sentAt: row.sentAt,
    lastError: row.lastError,
  };
}

/** Oldest first; on the same instant the inbound message first (the reply follows it). */
function byTime(a: ConversationMessage, b: ConversationMessage): number {
  const dt = a.at.getTime() - b.at.getTime();
  if (dt !== 0) return dt;
  if (a.direction !== b.direction) return a.direction === 'inbound' ? -1 : 1;
  // UUIDv7 ids sort by creation time, which breaks a tie within one table.
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * A work's conversation for the dashboard's transcript: the inbound events that became
 * part of it and the outbox messages it sent, merged in time order. Two indexed reads
 * through Prisma Client (InboundEvent by `workId`, Outbox by `workId`), each the newest
 * `limit + 1` rows, so a long chat costs a page, not the whole history. Events without
 * text are dropped after the read, so a page may hold fewer than `limit` messages.
 */
@Injectable()
export class OperatorConversationRepository {
  constructor(private readonly db: LedgerDatabase) {}

  /** Null when there is no such work. */
  async conversation(workId: string, limit: number): Promise<Conversation | null> {
    try {
      const prisma = this.db.prisma;
      const [work, inbound, outbound] = await Promise.all([
        prisma.work.findUnique({ where: { id: workId }, select: { id: true } }),
        prisma.inboundEvent.findMany({
          where: { workId, decision: { in: [...CONVERSATION_DECISIONS] } },
          select: inboundSelect,
          orderBy: [{ receivedAt: 'desc' }, { seq: 'desc' }],
          take: limit + 1,
        }),
        prisma.outbox.findMany({
          where: { workId },
          select: outboxSelect,
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take: limit + 1,
        }),
      ]);
      if (!work) return null;
      const said = inbound.filter((row) => textOf(row) !== null).map(inboundMessage);
      const merged = [...said, ...outbound.map(outboundMessage)].sort(byTime);
      return {
        items: merged.slice(Math.max(0, merged.length - limit)),
        truncated: merged.length > limit,
      };
    } catch (err) {
      translateDatabaseError(err);
    }
  }
}
