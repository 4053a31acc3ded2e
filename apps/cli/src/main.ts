import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError } from '@app/config';
import { registerMigrate } from './commands/migrate.command';
import { registerSend } from './commands/send.command';
import { registerStart } from './commands/start.command';
import { EXIT } from './exit-codes';

const program = new Command()
  .name('workgate')
  .description('workgate: a multi-channel agent gateway with one durable work ledger')
  .showHelpAfterError()
  .exitOverride();

registerMigrate(program);
registerStart(program);
registerSend(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; exitCode?: number; message?: string };
  if (e.code?.startsWith('commander.')) {
    process.exit(
      e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage,
    );
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(EXIT.config);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(EXIT.failed);
});
