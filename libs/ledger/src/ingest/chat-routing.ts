import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { askChoices, type InboundEventInput, LIVE_STATES } from '@app/core';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WaitRepository } from '../waits/wait.repository';
import { WorkRepository } from '../work/work.repository';
import { ChatCommands } from './chat-commands';
import { ChatMemoryCommands } from './chat-memory-commands';
import { type ChatPrepared, nothing } from './chat.types';

/**
 * The conversational half of ingest (DESIGN.md "Routing: resume or open", "Waits that
 * people answer"): it turns chat-specific inputs — a verified button, a reply to one
 * of our messages, `/status`, `/cancel`, a pick from "which one did you mean?" — into
 * an explicit reference the router understands, or answers them right here (the
 * commands: ChatCommands; the gateway's replies: ChatReplies).
 */
@Injectable()
export class ChatRouting {
  constructor(
    private readonly waits: WaitRepository,
    private readonly works: WorkRepository,
    private readonly commands: ChatCommands,
    private readonly memoryCommands: ChatMemoryCommands,
  ) {}

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
    if (event.command === 'status' || event.command === 'cancel' || event.command === 'help')
      return { kind: 'handled', applied: await this.commands.command(client, eventId, routed) };
    if (event.command === 'forget' || event.command === 'memory')
      return {
        kind: 'handled',
        applied: await this.memoryCommands.command(client, eventId, routed),
      };
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

  private async pressed(
    client: PoolClient,
    event: InboundEventInput,
    button: { waitId: string; choice: number },
  ): Promise<ChatPrepared> {
    const wait = await this.waits.find(client, button.waitId);
    if (!wait) {
      return {
        kind: 'handled',
        applied: nothing(
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
          ...nothing(
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
          ...nothing(
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
        applied: nothing(
          'dropped',
          `a pick of work ${button.workId}, but no question on this conversation offered it there`,
          'Nothing is waiting for this choice.',
        ),
      };
    }
    if (asked.consumedAt) {
      return {
        kind: 'handled',
        applied: nothing(
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
        applied: nothing(
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
}
