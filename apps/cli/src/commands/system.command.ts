import { type Command } from 'commander';
import { apiCommand, clientFor, type CommonOptions, positiveInt } from '../api/api-options';
import { type Lease, type QueueCounts, type Stats } from '../api/api-types';
import { dash, printJson, renderTable, usd, when } from '../output/table';

/** `workgate queues`, `workgate leases`, `workgate stats`: how the machinery is doing. */
export function registerSystem(program: Command): void {
  apiCommand(
    program.command('queues').description('job counts per state of the BullMQ queues'),
  ).action(async (opts: CommonOptions) => {
    const answer = await clientFor(opts).get<{ queues: QueueCounts[] }>('/api/v1/queues');
    if (opts.json) return printJson(answer);
    console.log(
      renderTable(
        [
          'QUEUE',
          'WAITING',
          'ACTIVE',
          'DELAYED',
          'PRIORITIZED',
          'CHILDREN',
          'COMPLETED',
          'FAILED',
          'PAUSED',
        ],
        answer.queues.map((q) => [
          q.name,
          q.waiting,
          q.active,
          q.delayed,
          q.prioritized,
          q.waitingChildren,
          q.completed,
          q.failed,
          q.paused ? 'yes' : 'no',
        ]),
      ),
    );
  });

  apiCommand(program.command('leases').description('running works and their leases'))
    .option('--expired', 'only leases that ran out (a worker died or froze)')
    .action(async (opts: CommonOptions & { expired?: boolean }) => {
      const answer = await clientFor(opts).get<{ items: Lease[] }>('/api/v1/leases', {
        expired: opts.expired ? 'true' : undefined,
      });
      if (opts.json) return printJson(answer);
      if (!answer.items.length) return console.log('No running works.');
      console.log(
        renderTable(
          ['WORK', 'KIND', 'ATTEMPT', 'OWNER', 'EXPIRES', 'HEARTBEAT', 'EXPIRED'],
          answer.items.map((l) => [
            l.workId,
            l.kind,
            l.attempt,
            dash(l.leaseOwner),
            when(l.leaseExpiresAt),
            when(l.lastHeartbeatAt),
            l.expired ? 'EXPIRED' : '-',
          ]),
        ),
      );
    });

  apiCommand(program.command('stats').description('works per state and model cost per day'))
    .option('--days <n>', 'days of cost (default 30)', positiveInt)
    .action(async (opts: CommonOptions & { days?: number }) => {
      const stats = await clientFor(opts).get<Stats>('/api/v1/stats', { days: opts.days });
      if (opts.json) return printJson(stats);
      console.log(renderTable(['STATE', 'WORKS'], Object.entries(stats.byState)));
      if (stats.costPerDay.length) {
        console.log('');
        console.log(
          renderTable(
            ['DAY', 'COST'],
            stats.costPerDay.map((d) => [d.day, usd(d.costUsd)]),
          ),
        );
      }
    });
}
