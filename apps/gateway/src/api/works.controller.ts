import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, UsePipes } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';
import { ErrorCode, isTerminal, WorkgateError } from '@app/core';
import { OperatorConversationRepository, OperatorWorksRepository } from '@app/ledger';
import { Actor, OperatorApi } from '../auth/api-auth.decorators';
import {
  type ActionBody,
  actionBody,
  actionResultSchema,
  type ListWorksQuery,
  listWorksQuery,
  type RerunBody,
  rerunBody,
  type SignalBody,
  signalBody,
  workDetailSchema,
  workId,
  workPageSchema,
} from './api.schemas';
import {
  type ConversationQuery,
  conversationQuery,
  conversationSchema,
} from './conversation.schemas';
import { ApiProblems } from './openapi';
import { type SimpleAction, WorkActionsService } from './work-actions.service';
import { ZodValidationPipe } from './zod-validation.pipe';
import {
  RESULT_WAIT_MAX_MS,
  type ResultQuery,
  resultQuery,
  type StartWorkBody,
  startWorkBody,
  startWorkResultSchema,
  workResultSchema,
} from './work-start.schemas';
import { WorkStartService } from './work-start.service';

const ACTION_DOCS: Record<SimpleAction, string> = {
  pause: 'QUEUED or WAITING → PAUSED now; RUNNING → PAUSED at its next step boundary.',
  resume: 'PAUSED → the state it left; a timer that fell due while paused fires now.',
  cancel: 'Any live state → CANCELLED (a RUNNING work at its next step boundary).',
  retry: 'FAILED or CANCELLED → QUEUED, keeping the completed steps.',
};

@ApiTags('works')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1/works')
export class WorksController {
  constructor(
    private readonly works: OperatorWorksRepository,
    private readonly actions: WorkActionsService,
    private readonly starts: WorkStartService,
    private readonly conversations: OperatorConversationRepository,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Start a work',
    description:
      'Opens a work of a kind a worker has registered (GET /api/v1/workflows), after checking `input` against the JSON Schema of that kind’s input: a 400 names the field (`kind`, or `input.<path>`). The start is recorded as an inbound event of channel `api` whose external id is `api:<idempotencyKey>` (a generated id without a key); a second start with the same key opens nothing and answers 200 with the first start’s work (its kind and input are not compared).',
  })
  @ApiCreatedResponse({ description: 'Opened', standardSchema: startWorkResultSchema })
  @ApiOkResponse({
    description: 'The idempotency key was seen: the work it started',
    standardSchema: startWorkResultSchema,
  })
  @ApiProblems(400, 401, 403, 503)
  async start(
    @Body({ schema: startWorkBody }) body: StartWorkBody,
    @Actor() actor: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const started = await this.starts.start(body, actor);
    void reply.status(started.created ? 201 : 200);
    return started;
  }

  @Get()
  @ApiOperation({
    summary: 'List works, newest first',
    description:
      'Filters combine with AND. Pages are keyset-paginated on (createdAt, id): pass `nextCursor` back as `cursor`; works created meanwhile never shift later pages.',
  })
  @ApiOkResponse({ description: 'A page of works', standardSchema: workPageSchema })
  @ApiProblems(400, 401, 503)
  list(@Query({ schema: listWorksQuery }) query: ListWorksQuery) {
    return this.works.list({
      states: query.state,
      kind: query.kind,
      channel: query.channel,
      conversationKey: query.conversation,
      createdFrom: query.createdFrom,
      createdTo: query.createdTo,
      updatedFrom: query.updatedFrom,
      updatedTo: query.updatedTo,
      q: query.q,
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One work in full',
    description:
      'Its fields, timeline, steps (input, output, error, duration), waits with their escalation ladder, inbox, model calls and cost, parent and children.',
  })
  @ApiOkResponse({ description: 'The work in full', standardSchema: workDetailSchema })
  @ApiProblems(400, 401, 404, 503)
  async detail(@Param('id', { schema: workId }) id: string) {
    const detail = await this.works.detail(id);
    if (!detail) throw new WorkgateError(ErrorCode.NotFound, `no work ${id}`);
    return detail;
  }

  @Get(':id/conversation')
  @ApiOperation({
    summary: 'A work’s conversation, as a chat transcript',
    description:
      'What people said to the work (the inbound messages, events with text, that opened it, answered its waits, reached its inbox or interrupted it) and what it sent (its outbox messages, with their delivery status), oldest first. Empty for a work that never chatted. The newest `limit` messages; `truncated` says whether older ones were left out.',
  })
  @ApiOkResponse({ description: 'The transcript', standardSchema: conversationSchema })
  @ApiProblems(400, 401, 404, 503)
  async conversation(
    @Param('id', { schema: workId }) id: string,
    @Query({ schema: conversationQuery }) query: ConversationQuery,
  ) {
    const conversation = await this.conversations.conversation(id, query.limit);
    if (!conversation) throw new WorkgateError(ErrorCode.NotFound, `no work ${id}`);
    return conversation;
  }

  @Get(':id/result')
  @ApiOperation({
    summary: 'Wait for a work’s result',
    description: `Long poll: holds the request until the work is COMPLETED, FAILED or CANCELLED, or \`wait\` has passed (at most ${RESULT_WAIT_MAX_MS / 1000}s). 200 with \`done: true\` once it has ended (\`output\`, or \`error\`); 202 with \`done: false\` and the current state while it is still live — ask again.`,
  })
  @ApiOkResponse({ description: 'The work has ended', standardSchema: workResultSchema })
  @ApiAcceptedResponse({
    description: 'Still live after the wait: ask again',
    standardSchema: workResultSchema,
  })
  @ApiProblems(400, 401, 404, 503)
  async result(
    @Param('id', { schema: workId }) id: string,
    @Query({ schema: resultQuery }) query: ResultQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const row = await this.starts.result(id, query.wait);
    const done = isTerminal(row.state);
    void reply.status(done ? 200 : 202);
    return { ...row, done, output: row.output ?? null, error: row.error ?? null };
  }

  @Post(':id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a work', description: ACTION_DOCS.pause })
  @ApiBody({ required: false })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  pause(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: actionBody }) body: ActionBody,
    @Actor() actor: string,
  ) {
    return this.actions.act(id, 'pause', actor, body?.reason);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused work', description: ACTION_DOCS.resume })
  @ApiBody({ required: false })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  resume(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: actionBody }) body: ActionBody,
    @Actor() actor: string,
  ) {
    return this.actions.act(id, 'resume', actor, body?.reason);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a work', description: ACTION_DOCS.cancel })
  @ApiBody({ required: false })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  cancel(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: actionBody }) body: ActionBody,
    @Actor() actor: string,
  ) {
    return this.actions.act(id, 'cancel', actor, body?.reason);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retry a failed or cancelled work', description: ACTION_DOCS.retry })
  @ApiBody({ required: false })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  retry(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: actionBody }) body: ActionBody,
    @Actor() actor: string,
  ) {
    return this.actions.act(id, 'retry', actor, body?.reason);
  }

  @Post(':id/rerun')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run a work again from a step',
    description:
      'Keeps the steps before `fromStep`, discards the rest and queues the work. Not while it is RUNNING (pause or cancel it first).',
  })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  rerun(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: rerunBody }) body: RerunBody,
    @Actor() actor: string,
  ) {
    return this.actions.rerun(id, body.fromStep, actor, body.reason);
  }

  @Post(':id/signal')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Answer a work’s open wait',
    description:
      'The payload is validated against what the wait expects (400 if it does not match). An answer that loses the race against the wait’s timeout is a 409.',
  })
  @ApiOkResponse({
    description: 'Done: the work as it is now',
    standardSchema: actionResultSchema,
  })
  @ApiProblems(400, 401, 403, 404, 409, 503)
  signal(
    @Param('id', { schema: workId }) id: string,
    @Body({ schema: signalBody }) body: SignalBody,
    @Actor() actor: string,
  ) {
    return this.actions.signal(id, body.payload, actor, body.waitId);
  }
}
