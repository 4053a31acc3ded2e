import { Injectable } from '@nestjs/common';
import { OnJob } from '../jobs/on-job.decorator';
import { scheduleFireJob, type ScheduleFirePayload } from '../queues/job-catalog';
import { type ReconcileContributor } from '../reconciler/reconciler.service';

/** Cron, interval and one-shot schedules that fire events into the ledger (being written). */
@Injectable()
export class ScheduleService implements ReconcileContributor {
  @OnJob(scheduleFireJob)
  async handleFire(payload: ScheduleFirePayload): Promise<string> {
    throw new Error(`schedules are not wired yet (${payload.scheduleId})`);
  }

  async reconcile(_full: boolean): Promise<void> {
    return;
  }
}
