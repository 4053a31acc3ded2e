export const WAIT_TYPES = ['timer', 'human', 'event', 'webhook', 'child', 'budget'] as const;
export type WaitType = (typeof WAIT_TYPES)[number];

export const WAIT_STATUSES = ['open', 'satisfied', 'timed_out', 'cancelled'] as const;
export type WaitStatus = (typeof WAIT_STATUSES)[number];

export type WaitResolution = 'satisfy' | 'time_out' | 'cancel';

export type WaitResolutionResult =
  { ok: true; status: Exclude<WaitStatus, 'open'> } | { ok: false; reason: string };

/**
 * A wait resolves once. The ledger applies the result with `UPDATE … WHERE status =
 * 'open'`, so when an answer and a timeout race, whichever commits first wins and the
 * other sees a resolved wait and does nothing.
 */
export function resolveWait(status: WaitStatus, resolution: WaitResolution): WaitResolutionResult {
  if (status !== 'open') return { ok: false, reason: `the wait is already ${status}` };
  switch (resolution) {
    case 'satisfy':
      return { ok: true, status: 'satisfied' };
    case 'time_out':
      return { ok: true, status: 'timed_out' };
    case 'cancel':
      return { ok: true, status: 'cancelled' };
  }
}

/** One rung of a wait's escalation ladder: what happens `afterMs` after the wait opened. */
export type EscalationRung =
  /** `text`: the reminder's own words (else the question is repeated). */
  | { afterMs: number; action: 'remind'; text?: string }
  | { afterMs: number; action: 'escalate'; target: string; text?: string }
  | { afterMs: number; action: 'default'; value: unknown }
  | { afterMs: number; action: 'fail' };
