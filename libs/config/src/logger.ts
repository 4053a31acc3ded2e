import { redactSecrets } from '@app/core';
import { type LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import { type AppConfig } from './app-config';

export type { Logger } from 'pino';

/** Injection token for the process's root pino logger. */
export const LOGGER = Symbol('LOGGER');

/**
 * JSON logs, one object per line. Services log with the ids that matter as fields
 * (`{ eventId, workId, step, attempt }`) so a run can be followed with one grep.
 */
export function createLogger(config: Pick<AppConfig, 'env'>, name: string): Logger {
  return pino({
    name,
    level: config.env.LOG_LEVEL,
    base: { app: name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Every line leaves without the secrets a URL may carry (a Slack incoming webhook, a
    // token parameter, userinfo): errors quote the URLs they failed on.
    hooks: { streamWrite: redactSecrets },
  });
}

/** Routes Nest's own log lines (bootstrap, route mapping) into the same JSON stream. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
