import { type Command } from 'commander';
import { apiCommand, clientFor, type CommonOptions, positiveInt } from '../api/api-options';
import { type OutboxMessage, type Page } from '../api/api-types';
import { brief, dash, printJson, printPage, when } from '../output/table';

export function registerOutbox(program: Command): void {
  const outbox = program.command('outbox').description('outbound messages: pending, failed, retry');
  apiCommand(outbox.command('ls').description('list outbound messages, newest first'))
    .option('-s, --status <statuses>', 'pending, sent, failed, cancelled (comma-separated)')
    .option('-c, --channel <channel>', 'http, telegram, slack…')
    .option('-w, --work <id>', 'messages of this work')
    .option('-n, --limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      async (
        opts: CommonOptions & {
          status?: string;
          channel?: string;
          work?: string;
          limit?: number;
          cursor?: string;
        },
      ) => {
        const page = await clientFor(opts).get<Page<OutboxMessage>>('/api/v1/outbox', {
          status: opts.status,
          channel: opts.channel,
          workId: opts.work,
          limit: opts.limit,
          cursor: opts.cursor,
        });
        printPage(page, opts, {
          empty: 'No messages match.',
          head: [
            'ID',
            'STATUS',
            'CHANNEL',
            'TARGET',
            'ATTEMPTS',
            'NEXT ATTEMPT',
            'WORK',
            'LAST ERROR',
          ],
          row: (m) => [
            m.id,
            m.status,
            m.channel,
            m.target,
            m.attempts,
            m.status === 'pending' ? when(m.nextAttemptAt) : '-',
            dash(m.workId),
            brief(m.lastError, 60),
          ],
          more: 'workgate outbox ls',
        });
      },
    );

  apiCommand(outbox.command('retry <id>').description('deliver a failed message again')).action(
    async (id: string, opts: CommonOptions) => {
      const row = await clientFor(opts).post<OutboxMessage>(
        `/api/v1/outbox/${encodeURIComponent(id)}/retry`,
      );
      if (opts.json) return printJson(row);
      console.log(`message ${row.id} is ${row.status} again; it is delivered next`);
    },
  );
}
