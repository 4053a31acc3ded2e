import { Inject, Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { ID_GENERATOR, type IdGenerator, type OutboundAnsweredPayload } from '@app/core';
import { OutboxRepository, type OutboxRow } from '../outbox/outbox.repository';
import { type Dispatch } from '../ports/work-dispatcher.port';
import { type WaitRow } from './wait.repository';

/** How a wait's question closed: answered (by whom, with what), handed over, or expired. */
export type PromptClosing =
  | { answeredBy: string; answer: unknown }
  | { closed: NonNullable<OutboundAnsweredPayload['closed']> };

/**
 * Edits every question message a wait sent — its prompt, its reminders, a re-prompt —
 * once the wait no longer takes answers there: the buttons go and a line says why. A
 * button left on an answered, handed-over or expired question invites a press that can
 * only be refused. Written in the caller's transaction, like the answer or the rung.
 */
@Injectable()
export class WaitPromptEdits {
  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async close(client: PoolClient, wait: WaitRow, how: PromptClosing): Promise<Dispatch[]> {
    const dispatches: Dispatch[] = [];
    for (const sent of await this.sentQuestions(client, wait)) {
      const payload: OutboundAnsweredPayload = {
        kind: 'answered',
        waitId: wait.id,
        promptMessageId: sent.providerMessageId!,
        text: (sent.payload as { text?: string }).text ?? '',
        answeredBy: 'answeredBy' in how ? how.answeredBy : '',
        answer: 'answeredBy' in how ? how.answer : null,
        ...('closed' in how ? { closed: how.closed } : {}),
        ...(typeof sent.payload.thread === 'string' ? { thread: sent.payload.thread } : {}),
      };
      // The prompt keeps the key it always had; each other message has its own, and each
      // way of closing too (a handed-over prompt is edited again when it is answered).
      const what = 'closed' in how ? how.closed : 'answered';
      const key =
        sent.id === wait.promptRef && what === 'answered'
          ? `answered:${wait.id}`
          : `${what}:${wait.id}:${sent.id}`;
      const row = await this.outbox.insert(client, {
        id: this.ids.uuid(),
        workId: wait.workId,
        stepId: null,
        channel: sent.channel,
        target: sent.target,
        payload,
        idempotencyKey: key,
      });
      dispatches.push({ type: 'deliver', outboxId: row.id, attempt: row.attempts + 1 });
    }
    return dispatches;
  }

  /**
   * The wait's delivered question messages (a plain prompt is a message of the
   * conversation, not a question: it stays as sent). One not yet delivered has no
   * message to edit; it arrives with its buttons, which then answer "closed".
   */
  private async sentQuestions(client: PoolClient, wait: WaitRow): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>(
      `SELECT * FROM "Outbox"
       WHERE "workId" = $1 AND payload->>'kind' = 'ask' AND payload->>'waitId' = $2
         AND "providerMessageId" IS NOT NULL
       ORDER BY "createdAt"`,
      [wait.workId, wait.id],
    );
    return rows;
  }
}
