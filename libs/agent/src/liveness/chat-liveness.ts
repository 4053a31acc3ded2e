import { randomInt } from 'node:crypto';
import {
  type LivenessChannel,
  type OpenPreviews,
  type PreviewMessageRef,
  type PreviewOptions,
  type PreviewRecipient,
} from '@app/core';
import { type WorkflowContext } from '@app/engine';
import { LiveTurn } from './live-turn';

/** What chats show while an assistant's model works, as the worker set it up. */
export interface ChatLiveness {
  /** One per chat channel (Telegram, Slack). */
  channels: readonly LivenessChannel[];
  /** Where preview messages are kept track of, so a dead worker's are deleted later. */
  openPreviews?: OpenPreviews;
}

let configured: ChatLiveness = { channels: [] };

/** Called by the worker at start, next to configureAgent. */
export function configureLiveness(liveness: ChatLiveness): void {
  configured = liveness;
}

/** Runs whose left-behind previews were looked for (once per run: a run is one ctx). */
const swept = new WeakSet<WorkflowContext>();

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

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
 * Deletes the preview messages an earlier run of this work left in its chats (its
 * worker died mid-stream), once per run, whether or not this run calls the model:
 * the dead run may have recorded its answer and died before deleting its preview.
 */
function sweepLeftovers(ctx: WorkflowContext, liveness: ChatLiveness): void {
  const open = liveness.openPreviews;
  if (!open || swept.has(ctx)) return;
  swept.add(ctx);
  const discard = async (preview: PreviewMessageRef) => {
    const channel = liveness.channels.find((c) => c.channel === preview.channel);
    await channel?.discard(preview);
    ctx.log.info({ preview }, 'deleted a preview an earlier run left in the chat');
  };
  void open
    .take(ctx.workId)
    .then((left) => Promise.all(left.map(discard)))
    .catch((err: unknown) =>
      ctx.log.warn({ err: messageOf(err) }, 'could not delete an earlier run’s preview'),
    );
}

/** Keeps the work's open preview messages in OpenPreviews; failures are logged, never thrown. */
function trackerOf(
  ctx: WorkflowContext,
  here: NonNullable<WorkflowContext['origin']['address']>,
  open: OpenPreviews | undefined,
): PreviewOptions['track'] {
  if (!open) return undefined;
  const ref = (message: string): PreviewMessageRef => ({ ...here, message });
  const logged = (what: string) => (err: unknown) =>
    ctx.log.warn({ err: messageOf(err) }, `could not ${what} an open preview`);
  return {
    opened: (message) => open.add(ctx.workId, ref(message)).catch(logged('note')),
    closed: (message) => open.remove(ctx.workId, ref(message)).catch(logged('forget')),
  };
}

/**
 * A LiveTurn for one model call of a work that answers in a chat, or undefined when
 * the work has no chat, its channel shows nothing, or its bot / workspace says `off`.
 */
export function openLiveTurn(
  ctx: WorkflowContext,
  recipient: PreviewRecipient | undefined,
  liveness: ChatLiveness = configured,
): LiveTurn | undefined {
  const here = ctx.origin.address;
  if (!here) return undefined;
  sweepLeftovers(ctx, liveness);
  const channel = liveness.channels.find((c) => c.channel === here.channel);
  if (!channel) return undefined;
  const mode = channel.modeFor(here);
  if (mode === 'off') return undefined;
  const track = trackerOf(ctx, here, liveness.openPreviews);
  const preview = channel.open(here, {
    ...(recipient ? { recipient } : {}),
    // Telegram's draft_id must be non-zero; a new one per call keeps its animation to one answer.
    id: randomInt(1, 2 ** 31 - 1),
    ...(track ? { track } : {}),
  });
  return new LiveTurn(preview, mode, channel.pacing(here), ctx.log);
}
