import { Controller, Delete, Get, HttpCode, Inject, Param, Query, UsePipes } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { LOGGER, type Logger } from '@app/config';
import { ErrorCode, WorkgateError } from '@app/core';
import { PersonMemoryRepository } from '@app/ledger';
import { Actor, OperatorApi } from '../auth/api-auth.decorators';
import {
  type ListMemoriesQuery,
  listMemoriesQuery,
  memoryErasedSchema,
  memoryPageSchema,
  memorySchema,
  personKey,
} from './memory.schemas';
import { ApiProblems } from './openapi';
import { ZodValidationPipe } from './zod-validation.pipe';

/** Per-person memory of the assistant (docs/agent.md, "Memory"), for operators. */
@ApiTags('memory')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1/memories')
export class MemoryController {
  constructor(
    private readonly memory: PersonMemoryRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'What the assistant remembers, per person, newest change first',
    description: 'Only people with something remembered; keyset-paginated on (updatedAt, person).',
  })
  @ApiOkResponse({ description: 'A page of memories', standardSchema: memoryPageSchema })
  @ApiProblems(400, 401, 503)
  list(@Query({ schema: listMemoriesQuery }) query: ListMemoriesQuery) {
    return this.memory.list({
      limit: query.limit,
      ...(query.prefix ? { prefix: query.prefix } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  }

  @Get(':person')
  @ApiOperation({
    summary: "One person's memory",
    description: 'An erased memory answers with `summary: null` and `forgottenAt`.',
  })
  @ApiOkResponse({ description: 'The memory', standardSchema: memorySchema })
  @ApiProblems(400, 401, 404, 503)
  async show(@Param('person', { schema: personKey }) person: string) {
    const record = await this.memory.read(person);
    if (!record) throw new WorkgateError(ErrorCode.NotFound, `no memory of ${person}`);
    return record;
  }

  @Delete(':person')
  @HttpCode(200)
  @ApiOperation({
    summary: "Erase a person's memory",
    description:
      "As the person's own /forget: the summary is erased, and a conversation already under way does not write back what it heard before.",
  })
  @ApiOkResponse({ description: 'Erased', standardSchema: memoryErasedSchema })
  @ApiProblems(400, 401, 403, 404, 503)
  async forget(@Param('person', { schema: personKey }) person: string, @Actor() actor: string) {
    const { found, erased } = await this.memory.forget(person);
    if (!found) throw new WorkgateError(ErrorCode.NotFound, `no memory of ${person}`);
    this.logger.info({ person, actor, erased }, 'person memory erased by an operator');
    return { person, erased };
  }
}
