import { Controller, Get, Param, Query, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCode, WorkgateError } from '@app/core';
import { OperatorEventsRepository } from '@app/ledger';
import { OperatorApi } from '../auth/api-auth.decorators';
import {
  eventPageSchema,
  inboundEventWithRawSchema,
  type ListEventsQuery,
  listEventsQuery,
} from './api.schemas';
import { ApiProblems } from './openapi';
import { ZodValidationPipe } from './zod-validation.pipe';

@ApiTags('events')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1/events')
export class EventsController {
  constructor(private readonly events: OperatorEventsRepository) {}

  @Get()
  @ApiOperation({
    summary: 'Inbound events with the routing decision and its reason, newest first',
    description: 'Keyset-paginated on (receivedAt, id): pass `nextCursor` back as `cursor`.',
  })
  @ApiOkResponse({ description: 'A page of events', standardSchema: eventPageSchema })
  @ApiProblems(400, 401, 503)
  list(@Query({ schema: listEventsQuery }) query: ListEventsQuery) {
    return this.events.list({
      channel: query.channel,
      source: query.source,
      decisions: query.decision,
      workId: query.workId,
      from: query.from,
      to: query.to,
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'One inbound event, with its raw payload' })
  @ApiOkResponse({ description: 'The event', standardSchema: inboundEventWithRawSchema })
  @ApiProblems(400, 401, 404, 503)
  async find(@Param('id', { schema: z.uuid().describe('event id') }) id: string) {
    const event = await this.events.find(id);
    if (!event) throw new WorkgateError(ErrorCode.NotFound, `no inbound event ${id}`);
    return event;
  }
}
