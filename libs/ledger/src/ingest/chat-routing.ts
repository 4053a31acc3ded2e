import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { buttonSecrets, signButtonToken } from '@app/channels/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import {
  askChoices,
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type IngestDecision,
  LIVE_STATES,
  type OutboundPayload,
  type WorkState,
} from '@app/core';
import { OutboxRepository } from '../outbox/outbox.repository';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WaitRepository, type WaitRow } from '../waits/wait.repository';
import { WorkRepository } from '../work/work.repository';

type Address = { channel: string; target: string; thread?: string };

/** What the chat layer decided before routing: handled here, or a routable event. */
export type ChatPrepared =
  | { kind: 'route'; event: InboundEventInput; feedback?: string }
  | { kind: 'handled'; applied: ChatApplied };

export interface ChatApplied {
  decision: IngestDecision;
  reason: string;
  workId: string | null;
  waitId: string | null;
  dispatches: Dispatch[];
  feedback?: string;
}

/**
 * The conversational half of ingest (DESIGN.md "Routing: resume or open", "Waits that
 * people answer"): it turns chat-specific inputs — a verified button, a reply to one
 * of our messages, `/status`, `/cancel`, a pick from "which one did you mean?" — into
 * an explicit reference the router understands, and writes the gateway's own replies
 * (re-prompts, refusals, command answers, "answered by" edits) to the Outbox in the
 * ingest transaction, so a reply is never lost and never sent for a rolled-back event.
 */
@Injectable()
export class ChatRouting {
  private readonly secrets: string[];
  private readonly identities: Record<string, string[]>;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly waits: WaitRepository,
    private readonly works: WorkRepository,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.secrets = buttonSecrets(config);
    this.identities = config.chat.identities;
  }

  async prepare(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
  ): Promise<ChatPrepared> {
    const button = event.button;
    if (button?.kind === 'answer') return this.pressed(client, event, button);
    if (button?.kind === 'pick') return this.picked(client, eventId, event, button);

    let routed = event;
    if (event.replyTo && !event.reference) {
      const replied = await this.repliedTo(client, event.channel, event.replyTo);
      if (replied) routed = { ...event, reference: replied };
    }
    if (event.command === 'status' || event.command === 'cancel')
      return { kind: 'handled', applied: await this.command(client, eventId, routed) };
    return { kind: 'route', event: routed };
  }

  /**
   * `/new` ends the conversation that was open for a follow-up here: each open plain
   * wait (AskOptions.plain, an assistant's answer) is answered with its default, as if
   * its window had passed, so its work finishes instead of taking the next messages.
   * Questions that expect an answer stay open.
   */
  async closeFollowUps(
    client: PoolClient,
    eventId: string,
    conversationKey: string,
    actor: string,
  ): Promise<Dispatch[]> {
    const { rows } = await client.query<{ id: string; workId: string; defaultValue: unknown }>(
      `SELECT w.id, w."workId", w."defaultValue" FROM "Wait" w JOIN "Outbox" o ON o.id::text = w."promptRef"
       WHERE w."conversationKey" = $1 AND w.status = 'open' AND w.type = 'human'
         AND o.payload->>'kind' = 'message'`,
      [conversationKey],
    );
    const dispatches: Dispatch[] = [];
    for (const wait of rows) {
      // Lock order (docs/decisions.md): the work's row, then its wait's, as a cancel or a
      // timer takes them; resolving the wait first made a cycle with those.
      await this.works.lock(client, wait.workId);
      if (!(await this.waits.resolve(client, wait.id, 'satisfied', wait.defaultValue ?? null)))
        continue;
      const applied = await this.works.apply(
        client,
        wait.workId,
        { type: 'wait_satisfied' },
        { actor, data: { eventId, waitId: wait.id, command: '/new' } },
      );
      if (applied.ok) dispatches.push(...applied.dispatches);
    }
    return dispatches;
  }

  /**
   * A responder check for a human wait. Responders may name channel identities
   * (`telegram:42`, `slack:T1:U1`) or people from `chat.identities`; any identity
   * linked to a named person or identity may answer.
   */
  mayAnswer(wait: Pick<WaitRow, 'responders'>, actorId: string | null): boolean {
    const responders = Array.isArray(wait.responders) ? (wait.responders as string[]) : [];
    if (responders.length === 0) return true;
    if (!actorId) return false;
    const allowed = new Set(responders);
    for (const [person, linked] of Object.entries(this.identities)) {
      if (allowed.has(person) || linked.some((id) => allowed.has(id)))
        for (const id of linked) allowed.add(id);
    }
    return allowed.has(actorId);
  }

  /** "Only … may answer this": to the person only, where the channel can. */
  async refuse(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    wait: WaitRow,
  ): Promise<{ dispatches: Dispatch[]; feedback: string }> {
    const who = (Array.isArray(wait.responders) ? (wait.responders as string[]) : []).join(', ');
    const feedback = `Sorry, only ${who} can answer this.`;
    // A button press shows the feedback to the presser (callback answer / ephemeral);
    // only a typed answer gets a message of its own.
    if (event.button) return { dispatches: [], feedback };
    const dispatches = await this.reply(client, eventId, event, wait.workId, {
      kind: 'notice',
      text: feedback,
      ephemeralTo: event.actor?.id,
      replyTo: this.messageIdOf(event),
    });
    return { dispatches, feedback };
  }

  /** An answer that does not fit: say why and ask again; the wait stays open. */
  async reprompt(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    wait: WaitRow,
    error: string,
  ): Promise<{ dispatches: Dispatch[]; feedback: string }> {
    const prompt = wait.promptRef ? await this.outbox.find(client, wait.promptRef) : null;
    const question =
      (prompt?.payload as { text?: string } | undefined)?.text ?? 'Please answer again.';
    const feedback = `That answer doesn't fit (${error}).`;
    const dispatches = await this.reply(client, eventId, event, wait.workId, {
      kind: 'ask',
      waitId: wait.id,
      text: `${feedback} ${question}`,
      expects: (wait.expects as Record<string, unknown> | null) ?? null,
      responders: (wait.responders as string[] | null) ?? null,
      ...(event.replyAddress?.thread ? { thread: event.replyAddress.thread } : {}),
    });
    return { dispatches, feedback };
  }

  /** After a human wait was answered: the prompt loses its buttons and says who answered. */
  async answered(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    wait: WaitRow,
  ): Promise<Dispatch[]> {
    if (!wait.promptRef) return [];
    const prompt = await this.outbox.find(client, wait.promptRef);
    if (!prompt?.providerMessageId) return [];
    // A plain prompt (AskOptions.plain: an assistant's answer open to a follow-up) is
    // a message of the conversation, not a question: it stays as it was sent.
    if ((prompt.payload as { kind?: string }).kind !== 'ask') return [];
    const payload: OutboundPayload = {
      kind: 'answered',
      waitId: wait.id,
      promptMessageId: prompt.providerMessageId,
      text: (prompt.payload as { text?: string }).text ?? '',
      answeredBy: event.actor?.name ?? event.actor?.id ?? 'someone',
      answer: event.answer ?? null,
      ...((prompt.payload as { thread?: string }).thread
        ? { thread: (prompt.payload as { thread: string }).thread }
        : {}),
    };
    const row = await this.outbox.insert(client, {
      id: this.ids.uuid(),
      workId: wait.workId,
      stepId: null,
      channel: prompt.channel,
      target: prompt.target,
      payload,
      idempotencyKey: `answered:${wait.id}`,
    });
    return [{ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 }];
  }

  /** "Which one did you mean?": one signed pick button per candidate work. */
  async askWhich(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    workIds: string[],
  ): Promise<Dispatch[]> {
    const { rows } = await client.query<{
      id: string;
      kind: string;
      state: WorkState;
      createdAt: Date;
    }>(
      'SELECT id, kind, state, "createdAt" FROM "Work" WHERE id = ANY($1::uuid[]) ORDER BY "createdAt"',
      [workIds],
    );
    const offered = rows.slice(0, 10);
    // The question remembers what it offered, button by button: a pick is valid only
    // for the question whose button `choice` named that work (see picked).
    await client.query('UPDATE "InboundEvent" SET "askedWorkIds" = $2 WHERE id = $1', [
      eventId,
      JSON.stringify(offered.map((w) => w.id)),
    ]);
    return this.reply(client, eventId, event, null, {
      kind: 'notice',
      text: 'Several works could take this. Which one did you mean?',
      replyTo: this.messageIdOf(event),
      buttons: offered.map((w, i) => ({
        label: `${w.kind} · ${w.state.toLowerCase()} · ${w.id.slice(-6)}`,
        token: signButtonToken({ kind: 'pick', workId: w.id, choice: i }, this.secrets[0]!),
      })),
    });
  }

  /** "Still working on …" for a busy route whose policy is reject. */
  async busy(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    workId: string | null,
    reason: string,
  ): Promise<Dispatch[]> {
    return this.reply(client, eventId, event, workId, {
      kind: 'notice',
      text: `Still working on the previous request — send /status to see it, or /cancel to stop it. (${reason})`,
      replyTo: this.messageIdOf(event),
    });
  }

  private async pressed(
    client: PoolClient,
    event: InboundEventInput,
    button: { waitId: string; choice: number },
  ): Promise<ChatPrepared> {
    const wait = await this.waits.find(client, button.waitId);
    if (!wait) {
      return {
        kind: 'handled',
        applied: this.nothing(
          'dropped',
          `button for unknown wait ${button.waitId}`,
          'This question no longer exists.',
        ),
      };
    }
    if (wait.status !== 'open') {
      // A second press, or a press after a timeout: never a new work, never an answer.
      return {
        kind: 'handled',
        applied: {
          ...this.nothing(
            'dropped',
            `button for wait ${wait.id}, which is ${wait.status}`,
            wait.status === 'satisfied'
              ? 'This question was already answered.'
              : 'This question is closed.',
          ),
          workId: wait.workId,
          waitId: wait.id,
        },
      };
    }
    const choices = askChoices((wait.expects as Record<string, unknown> | null) ?? null);
    const choice = choices?.[button.choice];
    if (!choice) {
      return {
        kind: 'handled',
        applied: {
          ...this.nothing(
            'rejected',
            `button choice ${button.choice} is not one of wait ${wait.id}'s`,
            'That option is not available.',
          ),
          workId: wait.workId,
          waitId: wait.id,
        },
      };
    }
    return {
      kind: 'route',
      event: {
        ...event,
        answer: choice.value,
        body: { ...(event.body as object), answer: choice.value, choice: choice.label },
        reference: { workId: wait.workId, waitId: wait.id },
      },
    };
  }

  /**
   * A pick answers the "which one?" question that offered this work on this button
   * (its `askedWorkIds[choice]`), the latest such on the conversation: that event's
   * content is routed into the chosen work, as if it had named it. Single-use: the
   * question is marked answered (`consumedAt`) in the same transaction, under the
   * conversation lock, so a double tap or an old button of an answered question does
   * nothing, and a button never routes another question's message into a work that
   * question did not offer.
   */
  private async picked(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    button: { workId: string; choice: number },
  ): Promise<ChatPrepared> {
    const { rows } = await client.query<{
      id: string;
      body: unknown;
      answer: unknown;
      consumedAt: Date | null;
    }>(
      `SELECT id, body, answer, "consumedAt" FROM "InboundEvent"
       WHERE "conversationKey" = $1 AND decision = 'asked' AND id <> $2 AND "askedWorkIds" ->> $3::int = $4
       ORDER BY seq DESC LIMIT 1 FOR UPDATE`,
      [event.conversationKey, eventId, button.choice, button.workId],
    );
    const asked = rows[0];
    if (!asked) {
      return {
        kind: 'handled',
        applied: this.nothing(
          'dropped',
          `a pick of work ${button.workId}, but no question on this conversation offered it there`,
          'Nothing is waiting for this choice.',
        ),
      };
    }
    if (asked.consumedAt) {
      return {
        kind: 'handled',
        applied: this.nothing(
          'dropped',
          `a pick for question ${asked.id}, which was already answered`,
          'This question was already answered.',
        ),
      };
    }
    const chosen = await this.works.find(client, button.workId);
    if (!chosen || !LIVE_STATES.includes(chosen.state)) {
      // The offered work ended since the question: its message would open nothing (a
      // button never opens a work) and be lost, so the question stays open for another pick.
      return {
        kind: 'handled',
        applied: this.nothing(
          'dropped',
          `a pick of work ${button.workId} for question ${asked.id}, but that work is ${chosen?.state ?? 'gone'}`,
          'That one has already finished. Please pick another.',
        ),
      };
    }
    await client.query(
      `UPDATE "InboundEvent" SET reason = reason || $2, "consumedAt" = now() WHERE id = $1`,
      [asked.id, ` → picked work ${button.workId} (event ${eventId})`],
    );
    return {
      kind: 'route',
      feedback: 'Got it.',
      event: {
        ...event,
        body: asked.body,
        answer: asked.answer,
        reference: { workId: button.workId },
      },
    };
  }

  private async repliedTo(
    client: PoolClient,
    channel: string,
    replyTo: { target: string; providerMessageId: string },
  ): Promise<{ workId: string; waitId?: string } | null> {
    const { rows } = await client.query<{ workId: string | null; waitId: string | null }>(
      `SELECT "workId", payload->>'waitId' AS "waitId" FROM "Outbox"
       WHERE channel = $1 AND target = $2 AND "providerMessageId" = $3 AND "workId" IS NOT NULL
       ORDER BY "createdAt" DESC LIMIT 1`,
      [channel, replyTo.target, replyTo.providerMessageId],
    );
    const row = rows[0];
    if (!row?.workId) return null;
    if (!row.waitId) return { workId: row.workId };
    // Only a still-open wait is named: a reply to an old, answered prompt goes to the work.
    const wait = await this.waits.find(client, row.waitId);
    return wait?.status === 'open'
      ? { workId: row.workId, waitId: row.waitId }
      : { workId: row.workId };
  }

  private async command(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
  ): Promise<ChatApplied> {
    const live = event.reference
      ? await this.liveWorks(client, null, [event.reference.workId])
      : await this.liveWorks(client, event.conversationKey, null);
    const answer = (
      text: string,
      reason: string,
      workId: string | null = null,
      more: Dispatch[] = [],
    ) =>
      this.reply(client, eventId, event, workId, {
        kind: 'notice',
        text,
        replyTo: this.messageIdOf(event),
      }).then((sent): ChatApplied => ({
        decision: 'command',
        reason,
        workId,
        waitId: null,
        dispatches: [...more, ...sent],
      }));
    if (event.command === 'status') {
      const text = live.length
        ? live
            .map(
              (w) =>
                `• ${w.kind} ${w.id.slice(-6)} — ${w.state.toLowerCase()}${w.waitReason ? ` (${w.waitReason})` : ''}, since ${w.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
            )
            .join('\n')
        : 'Nothing is running here.';
      return answer(text, `/status: ${live.length} live work(s)`);
    }
    // /cancel: only when it is clear which work is meant.
    if (live.length !== 1) {
      return answer(
        live.length
          ? `${live.length} works are live here; reply /cancel to a message of the one to stop.`
          : 'Nothing is running here.',
        `/cancel: ${live.length} live works, none cancelled`,
      );
    }
    const work = live[0]!;
    const actor = event.actor?.id ?? `${event.channel}:${event.source}`;
    if (!(await this.mayCancel(client, work.id, event.actor?.id ?? null))) {
      return answer(
        `Sorry, only the person who started ${work.kind} ${work.id.slice(-6)}, or who may answer it, can cancel it.`,
        `/cancel refused: ${actor} did not start work ${work.id} and may not answer it`,
        work.id,
      );
    }
    const applied = await this.works.apply(
      client,
      work.id,
      { type: 'cancel' },
      { actor, data: { eventId, command: '/cancel' } },
    );
    return applied.ok
      ? answer(
          `Cancelled ${work.kind} ${work.id.slice(-6)}.`,
          `/cancel cancelled work ${work.id}`,
          work.id,
          applied.dispatches,
        )
      : answer(
          `Could not cancel: ${applied.reason}`,
          `/cancel refused: ${applied.reason}`,
          work.id,
        );
  }

  /**
   * `/cancel` from a chat: the work's starter (the actor of the event that opened it,
   * or an identity linked to them) or a person its open waits name as responders. A
   * work with neither (started by an operator, asking no one in particular) may be
   * cancelled by anyone on its conversation, as before.
   */
  private async mayCancel(
    client: PoolClient,
    workId: string,
    actorId: string | null,
  ): Promise<boolean> {
    const { rows } = await client.query<{ starter: string | null; responders: unknown }>(
      `SELECT (SELECT e.actor->>'id' FROM "InboundEvent" e WHERE e.id = CASE WHEN k."sourceId" ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN k."sourceId"::uuid END) AS starter,
              (SELECT json_agg(w.responders) FROM "Wait" w WHERE w."workId" = k.id AND w.status = 'open') AS responders
       FROM "Work" k WHERE k.id = $1`,
      [workId],
    );
    const row = rows[0];
    if (!row) return false;
    const named = (Array.isArray(row.responders) ? row.responders : [])
      .filter((r): r is string[] => Array.isArray(r) && r.length > 0)
      .flat();
    if (!row.starter && named.length === 0) return true;
    const people = [...(row.starter ? [row.starter] : []), ...named];
    return this.mayAnswer({ responders: people }, actorId);
  }

  private async liveWorks(
    client: PoolClient,
    conversationKey: string | null,
    ids: string[] | null,
  ) {
    const { rows } = await client.query<{
      id: string;
      kind: string;
      state: WorkState;
      waitReason: string | null;
      createdAt: Date;
    }>(
      `SELECT id, kind, state, "waitReason", "createdAt" FROM "Work"
       WHERE state = ANY($1::"WorkState"[]) AND (${ids ? 'id = ANY($2::uuid[])' : '"conversationKey" = $2'})
       ORDER BY "createdAt" LIMIT 20`,
      [LIVE_STATES, ids ?? conversationKey],
    );
    return rows;
  }

  /** Writes one gateway reply to the event's reply address (chat channels only). */
  private async reply(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    workId: string | null,
    payload: OutboundPayload,
  ): Promise<Dispatch[]> {
    const to: Address | null | undefined = event.replyAddress;
    if (!to) return [];
    const withThread =
      to.thread && payload.kind !== 'answered' && !('thread' in payload && payload.thread)
        ? { ...payload, thread: to.thread }
        : payload;
    const row = await this.outbox.insert(client, {
      id: this.ids.uuid(),
      workId,
      stepId: null,
      channel: to.channel,
      target: to.target,
      payload: withThread,
      // One reply per event and kind: a redelivered event is deduped before this runs.
      idempotencyKey: `reply:${eventId}:${payload.kind}`,
    });
    return [{ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 }];
  }

  private messageIdOf(event: InboundEventInput): string | undefined {
    const id = (event.body as { messageId?: unknown } | null)?.messageId;
    return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
  }

  private nothing(decision: IngestDecision, reason: string, feedback: string): ChatApplied {
    return { decision, reason, workId: null, waitId: null, dispatches: [], feedback };
  }
}
