import { setTimeout as sleep } from 'node:timers/promises';
import { TelegramError } from 'telegraf';
import { type Logger } from '@app/config';
import { type CursorLease } from '@app/core';
import { type TelegramUpdate, toTelegramUpdate } from './telegram-payloads';

/** What one bot's poller needs; the service wires the real ones, tests may too. */
export interface TelegramPollerDeps {
  bot: string;
  /** Long-poll seconds passed to getUpdates. */
  timeoutSeconds: number;
  /** Pause between tries to take the lock, and after a failed getUpdates. */
  retryMs: number;
  acquire(): Promise<CursorLease | null>;
  /** getUpdates(offset, timeout); the signal cuts the long poll short on stop. */
  getUpdates(
    offset: number | undefined,
    timeoutSeconds: number,
    signal: AbortSignal,
  ): Promise<unknown[]>;
  /** Ingest one update (and answer its callback query); throws when it could not be stored. */
  handle(update: TelegramUpdate): Promise<void>;
  now(): number;
  logger: Logger;
}

/**
 * Update ids grow by one, "but if there are no new updates for at least a week, then
 * identifier of the next update will be chosen randomly" (Bot API, getUpdates) — maybe
 * below a stored offset, which would then skip it. After that long a poll starts without
 * an offset: Telegram returns what is still unconfirmed, and the ingest dedupe absorbs
 * anything seen before.
 */
const OFFSET_STALE_MS = 6 * 24 * 3_600_000;

/**
 * Long polling for one bot, on whichever replica holds the bot's lock (the others stand
 * by and retry every `retryMs`).
 *
 * The offset lives in the ledger (`ChannelCursor`, `telegram:<bot>:offset`, through the
 * ChannelCursorStore port): read when the lock is taken, advanced after a batch's updates
 * were ingested. It is not written in the ingest transaction — ingest owns that — and it
 * need not be: a crash between the
 * ingest commit and the offset write re-fetches those updates, and the dedupe on
 * (channel, `<bot>:<update_id>`) applies each once. The other way round cannot happen:
 * the offset only moves past updates already committed, so a restart loses nothing.
 * Telegram itself forgets updates below the offset of the next getUpdates call.
 */
export class TelegramPoller {
  private readonly abort = new AbortController();
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly deps: TelegramPollerDeps) {}

  get cursorKey(): string {
    return `telegram:${this.deps.bot}:offset`;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    while (!this.stopped) {
      let lease: CursorLease | null = null;
      try {
        lease = await this.deps.acquire();
      } catch (err) {
        logger.warn({ err: message(err) }, 'cannot reach PostgreSQL to take the poller lock');
      }
      if (lease) {
        logger.info('this replica polls the bot (it holds the poller lock)');
        try {
          await this.pollWhileHolding(lease);
        } catch (err) {
          if (!this.stopped) logger.warn({ err: message(err) }, 'polling interrupted');
        } finally {
          await lease.release();
        }
        if (!this.stopped) logger.info('poller lock released; trying to take it again');
      }
      await this.pause();
    }
  }

  private async pollWhileHolding(lease: CursorLease): Promise<void> {
    const { logger } = this.deps;
    const stored = await lease.readCursor(this.cursorKey);
    let offset = stored ? Number(stored.value) : undefined;
    let movedAt = stored ? stored.updatedAt.getTime() : this.deps.now();
    // The long poll is cut short when the lease goes (a standby may already poll).
    const cut = new AbortController();
    const onAbort = () => cut.abort();
    this.abort.signal.addEventListener('abort', onAbort);
    void lease.whenLost.then(onAbort);
    try {
      while (!this.stopped && !lease.lost) {
        const from = this.deps.now() - movedAt > OFFSET_STALE_MS ? undefined : offset;
        let updates: unknown[];
        try {
          updates = await this.deps.getUpdates(from, this.deps.timeoutSeconds, cut.signal);
        } catch (err) {
          if (this.stopped || lease.lost) return;
          logger.warn({ err: message(err) }, hint(err));
          await this.pause();
          continue;
        }
        let next = offset;
        let failed: unknown;
        for (const raw of updates) {
          if (this.stopped) break;
          const id = (raw as { update_id?: unknown } | null)?.update_id;
          if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
            logger.error({ raw }, 'getUpdates returned an update without an update_id; skipped');
            continue;
          }
          let update: TelegramUpdate | null = null;
          try {
            update = toTelegramUpdate(raw);
          } catch (err) {
            // Malformed beyond repair: skipping it is the only way past it.
            logger.error({ updateId: id, err: message(err) }, 'unreadable Telegram update skipped');
          }
          try {
            if (update) await this.deps.handle(update);
          } catch (err) {
            failed = err;
            break;
          }
          next = id + 1;
        }
        // What was ingested stays ingested: the offset moves past it even when a later
        // update of the batch failed (that one is fetched again on the next poll).
        if (next !== undefined && next !== offset) {
          await lease.writeCursor(this.cursorKey, String(next));
          offset = next;
          movedAt = this.deps.now();
        }
        if (failed !== undefined) {
          logger.warn({ err: message(failed) }, 'could not ingest an update; fetching it again');
          await this.pause();
        }
      }
    } finally {
      this.abort.signal.removeEventListener('abort', onAbort);
    }
  }

  private async pause(): Promise<void> {
    if (this.stopped) return;
    await sleep(this.deps.retryMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a failed getUpdates means for an operator (error replies: fixtures api-responses.json). */
function hint(err: unknown): string {
  if (err instanceof TelegramError) {
    if (err.code === 409 && /webhook/i.test(err.description)) {
      return 'getUpdates refused: a webhook is set for this bot; run `workgate telegram delete-webhook --bot <name>` or use mode: webhook';
    }
    if (err.code === 409)
      return 'getUpdates refused: another process polls this bot with the same token';
    if (err.code === 401 || err.code === 404)
      return 'getUpdates refused: the bot token is not valid';
  }
  return 'getUpdates failed; retrying';
}
