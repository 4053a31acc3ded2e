export * from './app-config';
export * from './config.schema';
export * from './config.module';
export * from './interpolate.util';
export * from './byte-size.util';
export * from './logger';
export * from './graceful-shutdown';
export * from './redis-target';
