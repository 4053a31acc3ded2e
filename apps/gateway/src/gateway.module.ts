import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { type AppConfig, ConfigModule, type Logger } from '@app/config';
import { WebhookModule } from '@app/channels/webhook';
import { SlackModule } from '@app/channels/slack';
import { TelegramModule } from '@app/channels/telegram';
import { EngineModule } from '@app/engine';
import { LedgerModule } from '@app/ledger';
import { MetricsModule } from '@app/observability';
import { ApiModule } from './api/api.module';
import { ApiAuthGuard } from './auth/api-auth.guard';
import { HealthController } from './health/health.controller';
import { DashboardModule } from './dashboard/dashboard.module';
import { BodyErrorGuard } from './http/body-error.guard';
import { GatewayMetricsModule } from './metrics/metrics.module';
import { ProblemDetailsFilter } from './http/problem-details.filter';

@Module({})
export class GatewayModule {
  static forRoot(options: { config: AppConfig; logger: Logger }): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot({ ...options, name: 'gateway' }),
        MetricsModule.forRoot(),
        GatewayMetricsModule,
        DashboardModule,
        LedgerModule,
        EngineModule.forGateway(),
        WebhookModule,
        ApiModule,
        SlackModule,
        TelegramModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        // Before BodyErrorGuard (global guards run in this order): an unauthenticated
        // operator API call gets 401, whatever is wrong with its body.
        { provide: APP_GUARD, useClass: ApiAuthGuard },
        { provide: APP_GUARD, useClass: BodyErrorGuard },
      ],
    };
  }
}
