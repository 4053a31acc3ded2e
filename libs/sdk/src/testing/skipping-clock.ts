import { type Clock } from '@app/core';

/**
 * Wall time plus an offset that only grows: the test kit's clock. The engine reads time
 * through the CLOCK port only (timers' due times, leases, backoff), so moving the offset
 * moves the engine's "now" without touching the process's real time.
 */
export class SkippingClock implements Clock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** How far ahead of wall time the clock is. */
  get skippedMs(): number {
    return this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance by ${ms} ms`);
    this.offsetMs += ms;
  }
}
