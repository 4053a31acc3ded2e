import { Global, Module, type DynamicModule } from '@nestjs/common';
import { type AppConfig, loadConfig } from './app-config';
import { createLogger, LOGGER, type Logger } from './logger';

/** Injection token for the parsed AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  /**
   * Parses the config once (or takes one already parsed: tests, the CLI) and provides
   * it with the process's logger to every module.
   */
  static forRoot(options: { config?: AppConfig; logger?: Logger; name: string }): DynamicModule {
    const config = options.config ?? loadConfig();
    const logger = options.logger ?? createLogger(config, options.name);
    return {
      module: ConfigModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [APP_CONFIG, LOGGER],
    };
  }
}
