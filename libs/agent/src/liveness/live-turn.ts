import { type Logger } from 'pino';
import { type ChatPreview, type LivenessMode, type PreviewPacing } from '@app/core';
import { type LlmProgress } from '@app/engine';

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The chat's view of one model call: the typing indicator repeated while the model
 * works, and in `stream` mode the answer so far, at most one update per
 * `textEveryMs` (the newest text wins; updates in between are dropped, never queued).
 * Calls to the channel run one at a time, in order, off the model call's path: a slow
 * or failing chat never slows or fails the step. A failed text update stops the
 * previews of this call (a 429 would only repeat); typing goes on.
 */
export class LiveTurn {
  private typingTimer: NodeJS.Timeout | undefined;
  private textTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private latest: string | undefined;
  private shown: string | undefined;
  private lastTextAt = 0;
  private textBroken = false;
  private stopped = false;

  constructor(
    private readonly preview: ChatPreview,
    private readonly mode: Exclude<LivenessMode, 'off'>,
    private readonly pacing: PreviewPacing,
    private readonly log: Logger,
  ) {}

  /** What ctx.llm is told: the model streams only when the text is shown. */
  get progress(): LlmProgress {
    return this.mode === 'stream'
      ? { started: () => this.started(), text: (soFar) => this.text(soFar) }
      : { started: () => this.started() };
  }

  started(): void {
    if (this.stopped || this.typingTimer) return;
    // enqueue never rejects: each call's failure is logged inside the chain.
    const type = () => void this.enqueue('typing', () => this.preview.typing());
    type();
    this.typingTimer = setInterval(type, this.pacing.typingEveryMs);
    this.typingTimer.unref();
  }

  text(soFar: string): void {
    if (this.stopped || this.mode !== 'stream' || this.textBroken) return;
    this.latest = soFar;
    if (this.textTimer) return;
    const wait = Math.max(0, this.lastTextAt + this.pacing.textEveryMs - Date.now());
    this.textTimer = setTimeout(() => this.flush(), wait);
    this.textTimer.unref();
  }

  /**
   * Ends the preview once what is under way has been said: a draft stops, a preview
   * message goes. Resolves when the channel has answered (or failed, logged).
   */
  stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    clearInterval(this.typingTimer);
    clearTimeout(this.textTimer);
    // A replayed step never called the model: nothing was shown, nothing to end.
    if (!this.typingTimer) return this.chain;
    return this.enqueue('end', () => this.preview.end());
  }

  private flush(): void {
    this.textTimer = undefined;
    const text = this.latest;
    if (this.stopped || text === undefined || text === this.shown || this.textBroken) return;
    this.lastTextAt = Date.now();
    this.shown = text;
    this.enqueue('text', () => this.preview.text(text)).catch(() => undefined);
  }

  private enqueue(what: 'typing' | 'text' | 'end', call: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(async () => {
      try {
        await call();
      } catch (err) {
        if (what === 'text') this.textBroken = true;
        this.log.warn({ err: messageOf(err), preview: what }, 'chat preview failed; carrying on');
      }
    });
    return this.chain;
  }
}
