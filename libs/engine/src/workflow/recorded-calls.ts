import { type PoolClient } from 'pg';
import { unwrapStepOutput } from '@app/core';
import { INBOX_STEP } from '../runner/inbox.reader';
import { messageParts } from './message-parts.util';
import { recordable, type RunScope } from './run-scope';
import { ChildWorkError, Suspend } from './workflow.errors';
import { type Address, type InboxEvent, type OutboundMessageBody } from './workflow.types';

/**
 * The ctx calls recorded whole as they happen (RunStore.recorded, RunStore.waits):
 * a message (ctx.send), a child work (ctx.child, which suspends the run until it
 * ends), the inbox read, and the values a replay must see unchanged — now, random,
 * uuid. Each returns its recorded result on replay.
 */

export async function sendCall(
  scope: RunScope,
  to: Address,
  message: OutboundMessageBody,
): Promise<{ outboxId: string }> {
  const name = `send:${to.channel}`;
  const { seq, recorded } = scope.next(name, 'send');
  if (recorded?.status === 'completed')
    return unwrapStepOutput(recorded.output) as { outboxId: string };
  recordable(`${name}: the message`, { to, message });
  const payload = { kind: 'message', ...message };
  const outboxId = await scope.deps.store.recorded.send(
    scope.run,
    seq,
    name,
    to,
    payload,
    messageParts(to.channel, payload),
  );
  return { outboxId };
}

export async function childCall<T>(scope: RunScope, kind: string, input: unknown): Promise<T> {
  const name = `child:${kind}`;
  const { seq, recorded } = scope.next(name, 'child');
  if (recorded?.status === 'completed') {
    const result = unwrapStepOutput(recorded.output) as {
      workId: string;
      state: string;
      output: unknown;
      error: unknown;
    };
    if (result.state !== 'COMPLETED')
      throw new ChildWorkError(result.workId, result.state, result.error);
    return result.output as T;
  }
  recordable(`${name}: the child's input`, input);
  await scope.quiesce(name);
  await scope.deps.store.waits.startChild(
    scope.run,
    seq,
    name,
    kind,
    input,
    scope.deps.retryPolicyFor(kind),
    scope.work.conversationKey,
    recorded,
  );
  throw new Suspend('waiting');
}

export async function inboxCall(scope: RunScope): Promise<InboxEvent[]> {
  const { store } = scope.deps;
  return (await recordedValue(scope, INBOX_STEP, (client) =>
    store.inbox.take(client, scope.work.id),
  )) as InboxEvent[];
}

export async function nowCall(scope: RunScope): Promise<Date> {
  return new Date(
    (await recordedValue(scope, '$now', async () =>
      new Date(scope.deps.clock.now()).toISOString(),
    )) as string,
  );
}

export async function randomCall(scope: RunScope): Promise<number> {
  return (await recordedValue(scope, '$random', async () => scope.deps.ids.random())) as number;
}

export async function uuidCall(scope: RunScope): Promise<string> {
  return (await recordedValue(scope, '$uuid', async () => scope.deps.ids.uuid())) as string;
}

/** The longest title kept: a few words for a list row or a button, not a description. */
export const TITLE_MAX = 200;

export async function setTitleCall(scope: RunScope, title: string): Promise<void> {
  const text = title.replace(/\s+/g, ' ').trim().slice(0, TITLE_MAX);
  // In the fenced transaction that records the step: a run that lost its lease writes nothing.
  await recordedValue(scope, '$title', async (client) => {
    await client.query('UPDATE "Work" SET title = $2 WHERE id = $1', [scope.work.id, text || null]);
    return text;
  });
}

/** The recorded value at this position, or `produce`'s, recorded and checkpointed at once. */
async function recordedValue(
  scope: RunScope,
  name: string,
  produce: (client: PoolClient) => Promise<unknown>,
): Promise<unknown> {
  const { seq, recorded } = scope.next(name, 'task');
  if (recorded?.status === 'completed') return unwrapStepOutput(recorded.output);
  return scope.deps.store.recorded.recordValue(scope.run, seq, name, produce);
}
