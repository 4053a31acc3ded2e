import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { WorkflowKindRepository } from '@app/ledger';
import { OperatorApi } from '../auth/api-auth.decorators';
import { ApiProblems } from './openapi';
import { workflowKindsSchema } from './work-start.schemas';

@ApiTags('workflows')
@OperatorApi()
@Controller('api/v1/workflows')
export class WorkflowsController {
  constructor(private readonly kinds: WorkflowKindRepository) {}

  @Get()
  @ApiOperation({
    summary: 'The workflow kinds the workers have registered',
    description:
      'Each worker registers the kinds it runs, with the JSON Schema of their inputs, when it starts. These are the kinds POST /api/v1/works accepts.',
  })
  @ApiOkResponse({ description: 'The kinds, by name', standardSchema: workflowKindsSchema })
  @ApiProblems(401, 503)
  async list() {
    return { items: await this.kinds.list() };
  }
}
