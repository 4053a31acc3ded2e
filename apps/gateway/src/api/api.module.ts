import { Module } from '@nestjs/common';
import { EngineModule } from '@app/engine';
import { EventsController } from './events.controller';
import { MemoryController } from './memory.controller';
import { OutboxController } from './outbox.controller';
import { QueueDepthsService } from './queue-depths.service';
import { ScheduleAdminService } from './schedule-admin.service';
import { SchedulesController } from './schedules.controller';
import { SystemController } from './system.controller';
import { WorkActionsService } from './work-actions.service';
import { WorkStartService } from './work-start.service';
import { WorkflowsController } from './workflows.controller';
import { WorksController } from './works.controller';

/**
 * The operator API under /api/v1 (DESIGN.md, "Operator surface"): bearer-token auth
 * (ApiAuthGuard, registered globally by GatewayModule, acts only on @OperatorApi()
 * controllers), zod-validated input, problem+json errors, an OpenAPI 3.1 document
 * generated from the same schemas.
 */
@Module({
  // The same dynamic module the gateway imports (Nest dedupes it): EngineControl.
  imports: [EngineModule.forGateway()],
  controllers: [
    WorksController,
    EventsController,
    SystemController,
    OutboxController,
    SchedulesController,
    WorkflowsController,
    MemoryController,
  ],
  providers: [WorkActionsService, WorkStartService, QueueDepthsService, ScheduleAdminService],
})
export class ApiModule {}
