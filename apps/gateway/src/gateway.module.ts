import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { type AppConfig, ConfigModule, type Logger } from '@app/config';
import { WebhookModule } from '@app/channels/webhook';
import { EngineModule } from '@app/engine';
import { LedgerModule } from '@app/ledger';
import { HealthController } from './health/health.controller';
import { BodyErrorGuard } from './http/body-error.guard';
import { ProblemDetailsFilter } from './http/problem-details.filter';

@Module({})
export class GatewayModule {
  static forRoot(options: { config: AppConfig; logger: Logger }): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot({ ...options, name: 'gateway' }),
        LedgerModule,
        EngineModule.forGateway(),
        WebhookModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_GUARD, useClass: BodyErrorGuard },
      ],
    };
  }
}
