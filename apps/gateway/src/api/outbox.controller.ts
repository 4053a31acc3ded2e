import { Controller, Get, HttpCode, Inject, Param, Post, Query, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { LOGGER, type Logger } from '@app/config';
import { jobIds } from '@app/core';
import { deliverJob, QUEUE_NAMES, ShardedQueues } from '@app/engine';
import { OperatorOutboxRepository, WORK_DISPATCHER, type WorkDispatcher } from '@app/ledger';
import { Actor, OperatorApi } from '../auth/api-auth.decorators';
import {
  type ListOutboxQuery,
  listOutboxQuery,
  outboxPageSchema,
  outboxSchema,
} from './api.schemas';
import { ApiProblems } from './openapi';
import { ZodValidationPipe } from './zod-validation.pipe';

@ApiTags('outbox')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1/outbox')
export class OutboxController {
  constructor(
    private readonly outbox: OperatorOutboxRepository,
    @Inject(WORK_DISPATCHER) private readonly dispatcher: WorkDispatcher,
    private readonly queues: ShardedQueues,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Outbound messages, newest first',
    description: 'Keyset-paginated on (createdAt, id). `status=pending,failed` for what is stuck.',
  })
  @ApiOkResponse({ description: 'A page of messages', standardSchema: outboxPageSchema })
  @ApiProblems(400, 401, 503)
  list(@Query({ schema: listOutboxQuery }) query: ListOutboxQuery) {
    return this.outbox.list({
      statuses: query.status,
      channel: query.channel,
      workId: query.workId,
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Deliver a failed message again',
    description:
      'Back to pending with a fresh attempt budget, due now, with the same idempotency key. Only failed messages (409 otherwise, with `currentState`).',
  })
  @ApiOkResponse({ description: 'The message, pending again', standardSchema: outboxSchema })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  async retry(
    @Param('id', { schema: z.uuid().describe('outbox message id') }) id: string,
    @Actor() actor: string,
  ) {
    const row = await this.outbox.retryFailed(id, actor);
    try {
      // Attempts restart at 1, so the job id of the first attempt comes round again; a
      // failed job kept under it (BullMQ keeps failed jobs a day) would swallow the add.
      const stale = await this.queues
        .for(QUEUE_NAMES.outbox, deliverJob.shardKey({ outboxId: id }))
        .getJob(jobIds.outbox(id, 1));
      if (stale && ((await stale.isFailed()) || (await stale.isCompleted()))) await stale.remove();
      await this.dispatcher.dispatch([{ type: 'deliver', outboxId: id, attempt: 1 }]);
    } catch (err) {
      // Committed is committed: the reconciler enqueues pending rows that are due.
      this.logger.warn(
        { outboxId: id, err: (err as Error).message },
        'enqueue after outbox retry failed; the reconciler will',
      );
    }
    return row;
  }
}
