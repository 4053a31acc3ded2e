/**
 * Per-person memory (docs/agent.md, "Memory"): what the assistant remembers about one
 * person across conversations. A person is one user of one bot or workspace: the same
 * Telegram user talking to two bots has two memories, as they are two assistants.
 */

/** Who a memory belongs to. */
export interface PersonRef {
  /** `<channel>:<source>:<user>` (personKeyOf). */
  person: string;
  channel: string;
  /** The bot or workspace the person talks to. */
  source: string;
}

/** One person's memory as stored. */
export interface PersonMemoryRecord extends PersonRef {
  /** null: nothing remembered (never written, or erased). */
  summary: string | null;
  version: number;
  /** The work whose conversation wrote it last. */
  workId: string | null;
  forgottenAt: Date | null;
  updatedAt: Date;
}

/**
 * What a conversation's end writes: the new summary, if the memory is still the version
 * it merged (`expectVersion`) and was not erased after the conversation began (`since`).
 */
export interface PersonMemoryWrite {
  ref: PersonRef;
  summary: string;
  expectVersion: number;
  since: Date;
  workId: string;
}

/**
 * `written`; `conflict`: another conversation wrote first (merge again); `forgotten`:
 * the person erased their memory after this conversation began (write nothing).
 */
export type PersonMemoryWriteResult = 'written' | 'conflict' | 'forgotten';

/** The memory table, as the assistant sees it (a ledger adapter implements it). */
export interface PersonMemoryStore {
  /** The person who sent an inbound event (its actor on its bot or workspace); null for none. */
  personOfEvent(eventId: string): Promise<PersonRef | null>;
  read(person: string): Promise<PersonMemoryRecord | null>;
  /** The database's clock: the instant a conversation's `since` is measured against. */
  now(): Promise<Date>;
  write(write: PersonMemoryWrite): Promise<PersonMemoryWriteResult>;
}

/**
 * `<channel>:<source>:<user>` from an actor id, which channels scope by channel already
 * (`telegram:42`, `slack:T0123:U0456`): `telegram:main:42`, `slack:acme:T0123:U0456`.
 */
export function personKeyOf(channel: string, source: string, actorId: string): string {
  const prefix = `${channel}:`;
  const user = actorId.startsWith(prefix) ? actorId.slice(prefix.length) : actorId;
  return `${channel}:${source}:${user}`;
}
