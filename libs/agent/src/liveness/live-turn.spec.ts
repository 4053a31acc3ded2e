import pino from 'pino';
import { type ChatPreview } from '@app/core';
import { LiveTurn } from './live-turn';

/** A chat preview that records what it was asked (the port, not an SDK). */
class RecordingPreview implements ChatPreview {
  readonly calls: string[] = [];
  failText = false;
  failTyping = false;

  typing(): Promise<void> {
    this.calls.push('typing');
    return this.failTyping ? Promise.reject(new Error('429')) : Promise.resolve();
  }

  text(soFar: string): Promise<void> {
    this.calls.push(`text:${soFar}`);
    return this.failText ? Promise.reject(new Error('429')) : Promise.resolve();
  }

  end(): Promise<void> {
    this.calls.push('end');
    return Promise.resolve();
  }
}

const log = pino({ level: 'silent' });
const pacing = { typingEveryMs: 4_000, textEveryMs: 1_000 };

/** Lets the turn's chain of channel calls run (they are promises, not timers). */
const settle = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe(LiveTurn.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('repeats the typing indicator while the model works, and ends once', async () => {
    const preview = new RecordingPreview();
    const turn = new LiveTurn(preview, 'typing', pacing, log);
    turn.started();
    turn.started(); // a retried attempt does not start a second loop
    await settle();
    expect(preview.calls).toEqual(['typing']);
    await jest.advanceTimersByTimeAsync(12_000);
    expect(preview.calls).toEqual(['typing', 'typing', 'typing', 'typing']);
    turn.text('ignored in typing mode');
    await turn.stop();
    await turn.stop();
    await jest.advanceTimersByTimeAsync(12_000);
    expect(preview.calls).toEqual(['typing', 'typing', 'typing', 'typing', 'end']);
  });

  it('shows the text at once, then at most once per textEveryMs, the newest text winning', async () => {
    const preview = new RecordingPreview();
    const turn = new LiveTurn(preview, 'stream', pacing, log);
    turn.started();
    turn.text('a');
    await jest.advanceTimersByTimeAsync(0);
    turn.text('ab');
    turn.text('abc');
    await jest.advanceTimersByTimeAsync(999);
    expect(preview.calls).toEqual(['typing', 'text:a']);
    await jest.advanceTimersByTimeAsync(1);
    expect(preview.calls).toEqual(['typing', 'text:a', 'text:abc']);
    turn.text('abcd');
    await turn.stop();
    await jest.advanceTimersByTimeAsync(5_000);
    // Stopped before its turn came: the last piece is never shown, the preview ends.
    expect(preview.calls).toEqual(['typing', 'text:a', 'text:abc', 'end']);
  });

  it('stops previewing text after a failed update, keeps typing, and never throws', async () => {
    const preview = new RecordingPreview();
    preview.failText = true;
    preview.failTyping = true;
    const turn = new LiveTurn(preview, 'stream', pacing, log);
    turn.started();
    turn.text('a');
    await jest.advanceTimersByTimeAsync(0);
    preview.failText = false;
    turn.text('ab');
    await jest.advanceTimersByTimeAsync(4_000);
    await expect(turn.stop()).resolves.toBeUndefined();
    expect(preview.calls).toEqual(['typing', 'text:a', 'typing', 'end']);
  });

  it('a replayed step (the model never called) shows and ends nothing', async () => {
    const preview = new RecordingPreview();
    const turn = new LiveTurn(preview, 'stream', pacing, log);
    await turn.stop();
    expect(preview.calls).toEqual([]);
  });
});
