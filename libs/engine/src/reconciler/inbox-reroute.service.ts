import { Inject, Injectable } from '@nestjs/common';
import { LOGGER, type Logger } from '@app/config';
import { InboxRerouter } from '@app/ledger';
import { OnJob } from '../jobs/on-job.decorator';
import { rerouteInboxJob, type RerouteInboxPayload } from '../queues/job-catalog';
import { type ReconcileContributor } from './reconciler.service';

/** How many ended works' inboxes one reconcile pass routes again. */
const PER_PASS = 50;

/**
 * The unread inbox of a work that ended is routed again (InboxRerouter): at once by the
 * job its terminal transition dispatched, and by every reconcile pass for whatever a
 * lost job (Redis wiped, a worker killed after the commit) left marked in the ledger.
 */
@Injectable()
export class InboxRerouteService implements ReconcileContributor {
  constructor(
    private readonly rerouter: InboxRerouter,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @OnJob(rerouteInboxJob)
  async handleReroute(payload: RerouteInboxPayload): Promise<number> {
    return this.rerouter.rerouteWork(payload.workId);
  }

  async reconcile(): Promise<void> {
    let routed = 0;
    for (const workId of await this.rerouter.pendingWorks(PER_PASS)) {
      // One inbox that cannot be routed (its event refused by the database) must not
      // stop the others, nor the rest of the reconcile pass: it stays marked, and is
      // tried again next pass.
      routed += await this.rerouter.rerouteWork(workId).catch((err: Error) => {
        this.logger.warn({ workId, err: err.message }, 'routing an ended inbox again failed');
        return 0;
      });
    }
    if (routed) this.logger.info({ routed }, 'reconciler routed unread inbox events again');
  }
}
