import { type Logger as SlackLoggerPort, LogLevel } from '@slack/bolt';
import { type Logger } from '@app/config';

/**
 * The Slack SDKs log through @slack/logger's interface; without one they print to the
 * console. This routes them into the process's pino logger. Slack's debug output
 * (request bodies, socket frames) stays at pino's debug level.
 */
export function slackLogger(logger: Logger): SlackLoggerPort {
  let level: LogLevel = LogLevel.INFO;
  const line = (msg: unknown[]) =>
    msg.map((m) => (typeof m === 'string' ? m : String(m))).join(' ');
  return {
    debug: (...msg: unknown[]) => logger.debug(line(msg)),
    info: (...msg: unknown[]) => logger.info(line(msg)),
    warn: (...msg: unknown[]) => logger.warn(line(msg)),
    error: (...msg: unknown[]) => logger.error(line(msg)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
