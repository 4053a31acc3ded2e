import { randomInt } from 'node:crypto';
import { type LivenessChannel, type PreviewRecipient } from '@app/core';
import { type WorkflowContext } from '@app/engine';
import { LiveTurn } from './live-turn';

/** The worker's channels that can show liveness (Telegram, Slack); set at start. */
let configured: readonly LivenessChannel[] = [];

/** Called by the worker with one LivenessChannel per chat channel it delivers to. */
export function configureLiveness(channels: readonly LivenessChannel[]): void {
  configured = channels;
}

/**
 * Slack's events carry who wrote (`user`) and their team: a stream outside a DM is
 * addressed to them. Telegram needs no recipient (a chat is the address).
 */
export function previewRecipientOf(input: unknown): PreviewRecipient | undefined {
  if (!input || typeof input !== 'object') return undefined;
  const { user, team } = input as { user?: unknown; team?: unknown };
  if (typeof user !== 'string' || !user) return undefined;
  return typeof team === 'string' && team ? { user, team } : { user };
}

/**
 * A LiveTurn for one model call of a work that answers in a chat, or undefined when
 * the work has no chat, its channel shows nothing, or its bot / workspace says `off`.
 */
export function openLiveTurn(
  ctx: WorkflowContext,
  recipient: PreviewRecipient | undefined,
  channels: readonly LivenessChannel[] = configured,
): LiveTurn | undefined {
  const here = ctx.origin.address;
  if (!here) return undefined;
  const channel = channels.find((c) => c.channel === here.channel);
  if (!channel) return undefined;
  const mode = channel.modeFor(here);
  if (mode === 'off') return undefined;
  // Telegram's draft_id must be non-zero; a new one per call keeps its animation to one answer.
  const id = randomInt(1, 2 ** 31 - 1);
  const preview = channel.open(here, { ...(recipient ? { recipient } : {}), id });
  return new LiveTurn(preview, mode, channel.pacing(here), ctx.log);
}
