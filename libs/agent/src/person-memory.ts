import { type AgentConfig } from '@app/config';
import { type PersonMemoryStore, type PersonRef } from '@app/core';
import {
  type LlmMessage,
  type LlmRequest,
  type ModelClient,
  NonRetryableError,
  type WorkflowContext,
} from '@app/engine';

/** The process's memory table (the worker wires the ledger's at start). */
let configuredStore: PersonMemoryStore | undefined;

/** Called by the worker once the ledger is up: where assistants keep per-person memory. */
export function configureMemoryStore(store: PersonMemoryStore | undefined): void {
  configuredStore = store;
}

/** What a conversation recalled at its start (the `memory:recall` step's record). */
export interface RecalledMemory {
  ref: PersonRef;
  summary: string | null;
  /** When the conversation began, by the database's clock (ISO): an erase after it wins. */
  since: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function storeOf(store: PersonMemoryStore | undefined): PersonMemoryStore {
  const found = store ?? configuredStore;
  if (!found)
    throw new NonRetryableError(
      'agent.memory is on, but this process has no memory store (a worker wires the ledger at start)',
      'memory_not_configured',
    );
  return found;
}

/**
 * The person's memory at the start of a chat conversation, as a recorded step: a
 * re-run reads the record, so its system prompt is the one the model saw. Null for a
 * work without a person (started by API, webhook or schedule).
 */
export async function recallMemory(
  ctx: WorkflowContext,
  store: PersonMemoryStore | undefined,
): Promise<RecalledMemory | null> {
  const eventId = ctx.origin.eventId;
  if (!ctx.origin.address || !eventId || !UUID.test(eventId)) return null;
  const memory = storeOf(store);
  return ctx.step('memory:recall', async (): Promise<RecalledMemory | null> => {
    const ref = await memory.personOfEvent(eventId);
    if (!ref) return null;
    const [record, now] = await Promise.all([memory.read(ref.person), memory.now()]);
    return { ref, summary: record?.summary ?? null, since: now.toISOString() };
  });
}

/** The system prompt with what is remembered about the person. */
export function systemWithMemory(system: string, recalled: RecalledMemory | null): string {
  if (!recalled?.summary) return system;
  return `${system}\n\nWhat you remember about this person from earlier conversations (they can see it with /memory and erase it with /forget):\n${recalled.summary}`;
}

/** The conversation as plain lines for the summarizer: what the person and the assistant said. */
export function transcriptOf(messages: LlmMessage[]): string {
  return messages
    .flatMap((m) => {
      if (m.role !== 'user' && m.role !== 'assistant') return [];
      const text = typeof m.content === 'string' ? m.content.trim() : '';
      return text ? [`${m.role === 'user' ? 'Person' : 'Assistant'}: ${text}`] : [];
    })
    .join('\n');
}

/** The model request that merges a finished conversation into the person's memory. */
export function memoryRequest(
  settings: AgentConfig,
  previous: string | null,
  transcript: string,
): LlmRequest {
  const limit = settings.memory.maxLength;
  return {
    model: settings.model,
    messages: [
      {
        role: 'system',
        content: `You keep the long-term memory of an assistant about one person. Merge what you remembered with what the conversation below adds: durable facts about the person (name, role, preferences, ongoing matters, decisions), not the conversation itself. Drop what the person asked to forget or what is no longer true. Answer with the new memory only, as short notes, at most ${limit} characters.`,
      },
      {
        role: 'user',
        content: `What you remembered:\n${previous ?? '(nothing yet)'}\n\nThe conversation that just ended:\n${transcript}`,
      },
    ],
    ...(settings.temperature !== undefined ? { temperature: settings.temperature } : {}),
  };
}

/** Cut to the configured length, at the last line or word break that fits. */
export function clipSummary(text: string, maxLength: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= maxLength) return trimmed;
  const cut = trimmed.slice(0, maxLength);
  const at = Math.max(cut.lastIndexOf('\n'), cut.lastIndexOf(' '));
  return (at > maxLength / 2 ? cut.slice(0, at) : cut).trim();
}

/** How many times a write that lost to another conversation's merges again. */
const MERGE_ROUNDS = 3;

/**
 * At the end of a conversation: the model merges it into the person's memory (a
 * recorded `ctx.llm` step named `memory`, never re-run on replay) and the result is
 * written if nothing changed since it was read. Another conversation of the same
 * person writing first makes this one read and merge again; an erase (`/forget`,
 * operators) after this conversation began makes it write nothing.
 */
export async function rememberConversation(
  ctx: WorkflowContext,
  options: {
    store: PersonMemoryStore | undefined;
    recalled: RecalledMemory;
    settings: AgentConfig;
    client: ModelClient;
    messages: LlmMessage[];
  },
): Promise<'written' | 'forgotten' | 'conflict' | 'nothing'> {
  const { recalled, settings } = options;
  const transcript = transcriptOf(options.messages.slice(1));
  if (!transcript) return 'nothing';
  const memory = storeOf(options.store);
  const since = new Date(recalled.since);
  for (let round = 1; round <= MERGE_ROUNDS; round++) {
    const current = await ctx.step('memory:latest', async () => {
      const record = await memory.read(recalled.ref.person);
      return {
        summary: record?.summary ?? null,
        version: record?.version ?? 0,
        forgotten: !!record?.forgottenAt && record.forgottenAt >= since,
      };
    });
    if (current.forgotten) return 'forgotten';
    const response = await ctx.llm(memoryRequest(settings, current.summary, transcript), {
      client: options.client,
      name: 'memory',
      timeout: settings.timeout,
      maxAttempts: settings.maxAttempts,
    });
    const summary = clipSummary(response.message.content ?? '', settings.memory.maxLength);
    if (!summary) return 'nothing';
    const result = await ctx.step('memory:write', () =>
      memory.write({
        ref: recalled.ref,
        summary,
        expectVersion: current.version,
        since,
        workId: ctx.workId,
      }),
    );
    if (result !== 'conflict') return result;
  }
  return 'conflict';
}
