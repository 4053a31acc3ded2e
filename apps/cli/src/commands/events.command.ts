import { type Command } from 'commander';
import { apiCommand, clientFor, type CommonOptions, positiveInt } from '../api/api-options';
import { type InboundEvent, type Page } from '../api/api-types';
import { dash, printJson, printPage, when } from '../output/table';

interface ListOptions extends CommonOptions {
  channel?: string;
  source?: string;
  decision?: string;
  work?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export function registerEvents(program: Command): void {
  const events = program.command('events').description('inbound events and how they were routed');
  apiCommand(events.command('ls').description('list inbound events, newest first'))
    .option('-c, --channel <channel>', 'webhook, telegram, slack, schedule, api…')
    .option('--source <source>', 'the configured source (webhook source, bot, schedule)')
    .option('-d, --decision <decisions>', 'resumed, inbox, opened, dropped… (comma-separated)')
    .option('-w, --work <id>', 'events routed to this work')
    .option('--from <iso>', 'received at or after (ISO 8601)')
    .option('--to <iso>', 'received before (ISO 8601)')
    .option('-n, --limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: ListOptions) => {
      const page = await clientFor(opts).get<Page<InboundEvent>>('/api/v1/events', {
        channel: opts.channel,
        source: opts.source,
        decision: opts.decision,
        workId: opts.work,
        from: opts.from,
        to: opts.to,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      printPage(page, opts, {
        empty: 'No events match.',
        head: ['RECEIVED', 'ID', 'CHANNEL', 'SOURCE', 'DECISION', 'WORK', 'REASON'],
        row: (e) => [
          when(e.receivedAt),
          e.id,
          e.channel,
          e.source,
          e.decision,
          dash(e.workId),
          e.reason,
        ],
        more: 'workgate events ls',
      });
    });
  apiCommand(events.command('show <id>').description('one event, with its raw payload'))
    .option('--raw', 'print only the body exactly as it was received (signed webhooks)')
    .action(async (id: string, opts: CommonOptions & { raw?: boolean }) => {
      const event = await clientFor(opts).get<
        InboundEvent & { raw: unknown; rawBody: string | null }
      >(`/api/v1/events/${encodeURIComponent(id)}`);
      if (!opts.raw) return printJson(event);
      if (event.rawBody === null) {
        console.error('This event has no raw body kept (only signed webhooks keep theirs).');
        process.exitCode = 1;
        return;
      }
      process.stdout.write(event.rawBody);
    });
}
