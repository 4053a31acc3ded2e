import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError } from '@app/config';
import { registerDev } from './commands/dev.command';
import { registerEvents } from './commands/events.command';
import { registerMigrate } from './commands/migrate.command';
import { registerMemory } from './commands/memory.command';
import { registerOutbox } from './commands/outbox.command';
import { registerSchedules } from './commands/schedules.command';
import { registerSend } from './commands/send.command';
import { registerStart } from './commands/start.command';
import { registerTelegram } from './commands/telegram.command';
import { registerSystem } from './commands/system.command';
import { registerTokens } from './commands/tokens.command';
import { registerWorks } from './commands/works.command';
import { CliError, EXIT } from './exit-codes';

const program = new Command()
  .name('workgate')
  .description('workgate: a multi-channel agent gateway with one durable work ledger')
  .showHelpAfterError()
  .exitOverride();

registerMigrate(program);
registerStart(program);
registerDev(program);
registerWorks(program);
registerEvents(program);
registerSystem(program);
registerOutbox(program);
registerMemory(program);
registerSchedules(program);
registerTokens(program);
registerSend(program);
registerTelegram(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exit(
      e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage,
    );
  }
  if (err instanceof CliError) {
    console.error(err.message);
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(EXIT.config);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(EXIT.failed);
});
