import { type Command, Option } from 'commander';
import { apiCommand, clientFor, type CommonOptions, jsonValue } from '../api/api-options';
import { type Schedule } from '../api/api-types';
import { CliError, EXIT } from '../exit-codes';
import { dash, printJson, renderTable, when } from '../output/table';

interface CreateOptions extends CommonOptions {
  workflow: string;
  cron?: string;
  timezone?: string;
  every?: string;
  at?: string;
  input?: unknown;
  missed?: 'fire_once' | 'skip';
  paused?: boolean;
}

function timing(s: Schedule): string {
  switch (s.kind) {
    case 'cron':
      return `cron "${s.cron}" ${s.timezone}`;
    case 'interval':
      return `every ${s.intervalMs} ms`;
    default:
      return `once at ${when(s.runAt)}`;
  }
}

export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('cron, interval and one-shot schedules that start workflows');

  apiCommand(schedules.command('ls').description('list schedules')).action(
    async (opts: CommonOptions) => {
      const answer = await clientFor(opts).get<{ items: Schedule[] }>('/api/v1/schedules');
      if (opts.json) return printJson(answer);
      if (!answer.items.length) return console.log('No schedules.');
      console.log(
        renderTable(
          ['NAME', 'WORKFLOW', 'TIMING', 'ENABLED', 'NEXT FIRE', 'LAST FIRED'],
          answer.items.map((s) => [
            s.name,
            s.workflowKind,
            timing(s),
            s.enabled ? 'yes' : 'no',
            when(s.nextFireAt),
            dash(s.lastFiredAt ? when(s.lastFiredAt) : null),
          ]),
        ),
      );
    },
  );

  registerCreate(schedules);

  for (const action of ['pause', 'resume'] as const) {
    apiCommand(schedules.command(`${action} <name>`).description(`${action} a schedule`)).action(
      async (name: string, opts: CommonOptions) => {
        const schedule = await clientFor(opts).post<Schedule>(
          `/api/v1/schedules/${encodeURIComponent(name)}/${action}`,
        );
        if (opts.json) return printJson(schedule);
        console.log(
          `schedule ${schedule.name}: ${schedule.enabled ? `next fire ${when(schedule.nextFireAt)}` : 'paused'}`,
        );
      },
    );
  }

  apiCommand(
    schedules.command('rm <name>').description('delete a schedule (works it started stay)'),
  ).action(async (name: string, opts: CommonOptions) => {
    await clientFor(opts).delete(`/api/v1/schedules/${encodeURIComponent(name)}`);
    if (opts.json) return printJson({ deleted: name });
    console.log(`schedule ${name} deleted`);
  });
}

/** `schedules create`: one schedule from exactly one of --cron, --every or --at. */
function registerCreate(schedules: Command): void {
  apiCommand(
    schedules
      .command('create <name>')
      .description('create or update a schedule (exactly one of --cron, --every, --at)'),
  )
    .requiredOption('-w, --workflow <kind>', 'the workflow each fire starts')
    .option('--cron <expr>', 'cron expression, five fields (or six with seconds first)')
    .option('--timezone <tz>', 'IANA time zone of the cron expression (default UTC)')
    .option('--every <duration>', 'an interval: 30s, 5m, 1h30m…')
    .option('--at <iso>', 'a one-shot: an ISO 8601 time with Z or an offset')
    .option('-i, --input <json>', 'merged into each fire’s work input', jsonValue)
    .addOption(
      new Option('--missed <policy>', 'fires missed while no worker ran').choices([
        'fire_once',
        'skip',
      ]),
    )
    .option('--paused', 'create it paused')
    .action(async (name: string, opts: CreateOptions) => {
      const timings = [opts.cron, opts.every, opts.at].filter((t) => t !== undefined);
      if (timings.length !== 1)
        throw new CliError(EXIT.usage, 'Give exactly one of --cron, --every or --at.');
      const schedule = await clientFor(opts).post<Schedule>('/api/v1/schedules', {
        name,
        workflow: opts.workflow,
        ...(opts.cron !== undefined ? { cron: opts.cron } : {}),
        ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
        ...(opts.every !== undefined ? { every: opts.every } : {}),
        ...(opts.at !== undefined ? { at: opts.at } : {}),
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(opts.missed !== undefined ? { missed: opts.missed } : {}),
        ...(opts.paused ? { enabled: false } : {}),
      });
      if (opts.json) return printJson(schedule);
      console.log(
        `schedule ${schedule.name}: ${timing(schedule)}, ${schedule.enabled ? `next fire ${when(schedule.nextFireAt)}` : 'paused'}`,
      );
    });
}
