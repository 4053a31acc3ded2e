import { Controller, Get, Inject, Query, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CLOCK, type Clock } from '@app/core';
import { OperatorWorksRepository } from '@app/ledger';
import { OperatorApi } from '../auth/api-auth.decorators';
import {
  type LeasesQuery,
  leasesQuery,
  leasesSchema,
  queuesSchema,
  type StatsQuery,
  statsQuery,
  statsSchema,
} from './api.schemas';
import { ApiProblems } from './openapi';
import { QueueDepthsService } from './queue-depths.service';
import { ZodValidationPipe } from './zod-validation.pipe';

const DAY_MS = 86_400_000;

/** How the machinery is doing: queue depths, leases, counts and cost. */
@ApiTags('system')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1')
export class SystemController {
  constructor(
    private readonly depths: QueueDepthsService,
    private readonly works: OperatorWorksRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('queues')
  @ApiOperation({ summary: 'Job counts per BullMQ state of the work, wake and outbox queues' })
  @ApiOkResponse({ description: 'One entry per queue', standardSchema: queuesSchema })
  @ApiProblems(401, 503)
  async queues() {
    return { queues: await this.depths.depths() };
  }

  @Get('leases')
  @ApiOperation({
    summary: 'Running works and their leases, soonest expiry first',
    description:
      '`expired`: the lease ran out and the sweeper has not taken the work back yet (a worker died or froze).',
  })
  @ApiOkResponse({ description: 'Leases of running works', standardSchema: leasesSchema })
  @ApiProblems(400, 401, 503)
  async leases(@Query({ schema: leasesQuery }) query: LeasesQuery) {
    const items = await this.works.leases({
      now: new Date(this.clock.now()),
      expiredOnly: query.expired,
      limit: query.limit,
    });
    return { items };
  }

  @Get('stats')
  @ApiOperation({
    summary: 'Works per state and model cost per UTC day',
    description: '`byState` lists every state (0 when none); `costPerDay` only days with spend.',
  })
  @ApiOkResponse({ description: 'Counts and cost', standardSchema: statsSchema })
  @ApiProblems(400, 401, 503)
  stats(@Query({ schema: statsQuery }) query: StatsQuery) {
    const startOfToday = Math.floor(this.clock.now() / DAY_MS) * DAY_MS;
    return this.works.stats(
      new Date(startOfToday - (query.days - 1) * DAY_MS),
      new Date(startOfToday + DAY_MS),
    );
  }
}
