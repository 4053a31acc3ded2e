import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Res,
  UsePipes,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';
import { type ScheduleConfig, scheduleSpecSchema } from '@app/config';
import { Actor, OperatorApi } from '../auth/api-auth.decorators';
import { scheduleName, scheduleSchema, schedulesSchema } from './api.schemas';
import { ApiProblems } from './openapi';
import { ScheduleAdminService } from './schedule-admin.service';
import { ZodValidationPipe } from './zod-validation.pipe';

@ApiTags('schedules')
@OperatorApi()
@UsePipes(ZodValidationPipe)
@Controller('api/v1/schedules')
export class SchedulesController {
  constructor(private readonly schedules: ScheduleAdminService) {}

  @Get()
  @ApiOperation({ summary: 'Every schedule, by name' })
  @ApiOkResponse({ description: 'The schedules', standardSchema: schedulesSchema })
  @ApiProblems(401, 503)
  async list() {
    return { items: await this.schedules.list() };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One schedule' })
  @ApiOkResponse({ description: 'The schedule', standardSchema: scheduleSchema })
  @ApiProblems(400, 401, 404, 503)
  get(@Param('name', { schema: scheduleName }) name: string) {
    return this.schedules.get(name);
  }

  @Post()
  @ApiOperation({
    summary: 'Create or update a schedule by name',
    description:
      'Exactly one of `cron` (+ `timezone`), `every` (a duration: `90s`, `1h30m` or ms) or `at` (a one-shot). The same fields as `schedules:` in workgate.config.yaml. Changing the timing restarts it at the first slot after now; `enabled: false` creates it paused. The worker fires it (within its reconcile interval); the gateway cannot check that `workflow` is registered: a fire of an unknown kind fails that work.',
  })
  @ApiCreatedResponse({ description: 'Created', standardSchema: scheduleSchema })
  @ApiOkResponse({ description: 'Updated', standardSchema: scheduleSchema })
  @ApiProblems(400, 401, 403, 503)
  async define(
    @Body({ schema: scheduleSpecSchema }) spec: ScheduleConfig,
    @Actor() actor: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { row, created } = await this.schedules.define(spec, actor);
    void reply.status(created ? 201 : 200);
    return row;
  }

  @Post(':name/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a schedule: slots that pass while paused never fire' })
  @ApiOkResponse({ description: 'The paused schedule', standardSchema: scheduleSchema })
  @ApiProblems(400, 401, 403, 404, 503)
  pause(@Param('name', { schema: scheduleName }) name: string, @Actor() actor: string) {
    return this.schedules.pause(name, actor);
  }

  @Post(':name/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a schedule from its first slot after now' })
  @ApiOkResponse({ description: 'The resumed schedule', standardSchema: scheduleSchema })
  @ApiProblems(400, 401, 403, 404, 503)
  resume(@Param('name', { schema: scheduleName }) name: string, @Actor() actor: string) {
    return this.schedules.resume(name, actor);
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a schedule (works it started are not touched)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 401, 403, 404, 503)
  async remove(@Param('name', { schema: scheduleName }) name: string, @Actor() actor: string) {
    await this.schedules.remove(name, actor);
  }
}
