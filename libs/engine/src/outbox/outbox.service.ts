import { Injectable } from '@nestjs/common';
import { OnJob } from '../jobs/on-job.decorator';
import { deliverJob, type DeliverPayload } from '../queues/job-catalog';

/** Delivers outbox rows through the channel's OutboundSender (being written). */
@Injectable()
export class OutboxService {
  @OnJob(deliverJob)
  async handleDeliver(payload: DeliverPayload): Promise<string> {
    throw new Error(`outbox delivery is not wired yet (${payload.outboxId})`);
  }
}
