import { type Logger } from '@app/config';
import { type LeaseService } from '@app/ledger';
import { CancelRequested, InterruptRequested, LeaseLostError } from '../workflow/workflow.errors';

/** A run's lease kept: `beat` renews it now (a nudge calls it); `stop` ends the beats. */
export interface KeptLease {
  beat: () => void;
  stop: () => void;
}

/**
 * Keeps a run's lease while the run lasts: a heartbeat every lease/3, and at once when
 * the work is nudged. Each beat also reads what was asked of the run meanwhile, and
 * aborts the run's signal with the reason — the lease lost (a zombie must stop
 * writing), a cancel, or an interrupt — so the workflow stops at its next boundary.
 */
export function keepLease(opts: {
  leases: LeaseService;
  workId: string;
  token: bigint;
  leaseMs: number;
  abort: AbortController;
  log: Logger;
}): KeptLease {
  const { leases, workId, token, leaseMs, abort, log } = opts;
  const beat = () => {
    leases.heartbeat(workId, token, leaseMs).then(
      ({ held, cancelRequested, interruptRequested }) => {
        if (!held) abort.abort(new LeaseLostError(workId));
        else if (cancelRequested && !abort.signal.aborted) abort.abort(new CancelRequested());
        else if (interruptRequested && !abort.signal.aborted) abort.abort(new InterruptRequested());
      },
      (err: Error) => log.warn({ err: err.message }, 'heartbeat failed; retrying at the next beat'),
    );
  };
  const heartbeat = setInterval(beat, Math.max(50, Math.floor(leaseMs / 3)));
  return { beat, stop: () => clearInterval(heartbeat) };
}
