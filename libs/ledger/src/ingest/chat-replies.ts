import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { buttonSecrets, signButtonToken } from '@app/security';
import { APP_CONFIG, type AppConfig } from '@app/config';
import {
  ID_GENERATOR,
  type IdGenerator,
  type InboundEventInput,
  type OutboundPayload,
  type WorkState,
  workLabel,
} from '@app/core';
import { OutboxRepository } from '../outbox/outbox.repository';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { WaitPromptEdits } from '../waits/wait-prompt-edits';
import { type WaitRow } from '../waits/wait.repository';
import { messageIdOf } from './chat.types';

type Address = { channel: string; target: string; thread?: string };

/**
 * The gateway's own replies in a chat (DESIGN.md "Waits that people answer"):
 * re-prompts, refusals, "which one?", "still working", command answers and "answered
 * by" edits, written to the Outbox in the ingest transaction, so a reply is never lost
 * and never sent for a rolled-back event.
 */
@Injectable()
export class ChatReplies {
  private readonly secrets: string[];

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly edits: WaitPromptEdits,
  ) {
    this.secrets = buttonSecrets(config);
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
      replyTo: messageIdOf(event),
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

  /** After a human wait was answered: its questions lose their buttons and say who answered. */
  async answered(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
    wait: WaitRow,
  ): Promise<Dispatch[]> {
    return this.edits.close(client, wait, {
      answeredBy: event.actor?.name ?? event.actor?.id ?? 'someone',
      answer: event.answer ?? null,
    });
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
      title: string | null;
      input: unknown;
      state: WorkState;
      createdAt: Date;
    }>(
      'SELECT id, kind, title, input, state, "createdAt" FROM "Work" WHERE id = ANY($1::uuid[]) ORDER BY "createdAt"',
      [workIds],
    );
    const offered = rows.slice(0, 10);
    // The question remembers what it offered, button by button: a pick is valid only
    // for the question whose button `choice` named that work (see ChatRouting.picked).
    await client.query('UPDATE "InboundEvent" SET "askedWorkIds" = $2 WHERE id = $1', [
      eventId,
      JSON.stringify(offered.map((w) => w.id)),
    ]);
    return this.reply(client, eventId, event, null, {
      kind: 'notice',
      text: 'Several works could take this. Which one did you mean?',
      replyTo: messageIdOf(event),
      buttons: offered.map((w, i) => ({
        // What the person asked for, in their words, tells works apart; an id does not.
        label: `${workLabel(w)} · ${w.state.toLowerCase()}`,
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
      replyTo: messageIdOf(event),
    });
  }

  /** Writes one gateway reply to the event's reply address (chat channels only). */
  async reply(
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
}
