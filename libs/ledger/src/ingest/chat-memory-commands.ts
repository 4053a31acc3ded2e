import { Injectable } from '@nestjs/common';
import { type PoolClient } from 'pg';
import { type InboundEventInput, personKeyOf } from '@app/core';
import { PersonMemoryRepository } from '../memory/person-memory.repository';
import { ChatReplies } from './chat-replies';
import { type ChatApplied, messageIdOf } from './chat.types';

/** Chats where what is remembered may be shown: only the person reads it there. */
const PRIVATE_CHATS = new Set(['private', 'im']);

/**
 * The person's own view of their memory (docs/agent.md, "Memory"), answered by the
 * gateway in the ingest transaction: `/memory` shows it (in a private chat only: a
 * group would read it too), `/forget` erases it, anywhere. The erase commits with the
 * event, and its `forgottenAt` stops a conversation already under way from writing
 * back what it heard (PersonMemoryRepository.write).
 */
@Injectable()
export class ChatMemoryCommands {
  constructor(
    private readonly memory: PersonMemoryRepository,
    private readonly replies: ChatReplies,
  ) {}

  async command(
    client: PoolClient,
    eventId: string,
    event: InboundEventInput,
  ): Promise<ChatApplied> {
    const answer = (text: string, reason: string) =>
      this.replies
        .reply(client, eventId, event, null, { kind: 'notice', text, replyTo: messageIdOf(event) })
        .then((sent): ChatApplied => ({
          decision: 'command',
          reason,
          workId: null,
          waitId: null,
          dispatches: sent,
        }));
    const actor = event.actor?.id;
    if (!actor)
      return answer(
        "I can't tell who sent this, so there is no memory to show.",
        `/${event.command}: no actor`,
      );
    const person = personKeyOf(event.channel, event.source, actor);
    if (event.command === 'forget') {
      const { erased } = await this.memory.forget(
        person,
        { person, channel: event.channel, source: event.source },
        client,
      );
      return answer(
        erased
          ? "Done: I've forgotten what I remembered about you."
          : "I didn't remember anything about you, and I won't keep anything from our conversation so far.",
        `/forget: memory of ${person} ${erased ? 'erased' : 'was empty'}`,
      );
    }
    const chatType = (event.body as { chatType?: unknown } | null)?.chatType;
    if (typeof chatType !== 'string' || !PRIVATE_CHATS.has(chatType))
      return answer(
        'I only show what I remember about you in a private chat with me.',
        `/memory: not shown in a ${String(chatType)} chat`,
      );
    const record = await this.memory.read(person, client);
    return answer(
      record?.summary
        ? `What I remember about you:\n\n${record.summary}\n\nSend /forget to erase it.`
        : "I don't remember anything about you yet.",
      `/memory: ${record?.summary ? 'shown' : 'empty'} for ${person}`,
    );
  }
}
