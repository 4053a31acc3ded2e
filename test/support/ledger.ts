import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type AppConfig, ConfigModule, createLogger } from '../../libs/config/src';
import { EngineModule } from '../../libs/engine/src';
import { LedgerModule } from '../../libs/ledger/src';

/** The ledger, the queues and operator control, wired as the gateway wires them, without HTTP. */
export async function createLedgerContext(config: AppConfig): Promise<INestApplicationContext> {
  @Module({
    imports: [
      ConfigModule.forRoot({ config, logger: createLogger(config, 'test'), name: 'test' }),
      LedgerModule,
      EngineModule.forGateway(),
    ],
  })
  class LedgerTestModule {}
  return NestFactory.createApplicationContext(LedgerTestModule, { logger: false });
}
