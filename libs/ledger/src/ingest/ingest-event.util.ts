import {
  ErrorCode,
  type InboundEventInput,
  jsonbProblem,
  MAX_JSONB_DEPTH,
  WorkgateError,
} from '@app/core';
import { type WaitRow } from '../waits/wait.repository';

/**
 * The advisory lock keys an event takes: its conversation and its correlation key, in a
 * fixed order, so two events holding both cannot deadlock.
 */
export function conversationLocks(input: InboundEventInput): string[] {
  return [
    ...new Set(
      [input.conversationKey, input.correlationKey && `corr:${input.correlationKey}`].filter(
        (k): k is string => !!k,
      ),
    ),
  ].sort();
}

/**
 * An event's own columns, in the order LOCK_AND_INSERT and RESUME_KNOWN take them:
 * channel, source, externalId, conversationKey, correlationKey, actor, raw, body.
 */
export function eventValues(input: InboundEventInput): unknown[] {
  return [
    input.channel,
    input.source,
    input.externalId,
    input.conversationKey,
    input.correlationKey,
    JSON.stringify(input.actor),
    JSON.stringify(input.raw ?? null),
    JSON.stringify(input.body ?? null),
  ];
}

/** Who the timeline names for an event: its actor, else the channel and source it came by. */
export function actorOf(event: InboundEventInput): string {
  return event.actor?.id ?? `${event.channel}:${event.source}`;
}

/** People answer human and budget waits: both have responders and a prompt to edit. */
export function isPersonal(wait: WaitRow): boolean {
  return wait.type === 'human' || wait.type === 'budget';
}

/**
 * A channel may wrap a sender's document in one object of its own before ingesting it:
 * a webhook's `body.payload`, an API start's `raw` (`{ kind, input }`). The sender's
 * document was held to MAX_JSONB_DEPTH where it arrived (each channel's edge); the
 * column that wraps it is one level deeper.
 */
const CHANNEL_WRAPPER_LEVELS = 1;

/**
 * What jsonb (or a text column) refuses — a NUL, an unpaired surrogate, nesting too
 * deep — is refused here, before the event reaches a statement: as the sender's
 * mistake (400, like a webhook body), and before the one-statement path's shared
 * statement, where it would fail the events beside it too. Channels check their own
 * bodies already; this covers every caller (the API's start, chat adapters, tools).
 * Each stored value is checked on its own, as the column it is written to, with the
 * same check (core's jsonbProblem) the channels run at their edge.
 */
export function assertStorableEvent(event: InboundEventInput): void {
  const {
    route: _route,
    reference: _reference,
    button: _button,
    command: _command,
    ...stored
  } = event;
  for (const [column, value] of Object.entries(stored)) {
    const problem = jsonbProblem(value, MAX_JSONB_DEPTH + CHANNEL_WRAPPER_LEVELS);
    if (problem)
      throw new WorkgateError(
        ErrorCode.MalformedBody,
        `The event's ${column} holds ${problem}, which cannot be stored.`,
      );
  }
}
