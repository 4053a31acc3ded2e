/** Time, behind a port so tests can pin it (signature windows, timers, leases). */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
export const CLOCK = Symbol('Clock');
