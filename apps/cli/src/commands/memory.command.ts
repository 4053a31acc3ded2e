import { type Command } from 'commander';
import { apiCommand, clientFor, type CommonOptions, positiveInt } from '../api/api-options';
import { type Page } from '../api/api-types';
import { brief, dash, printJson, printPage, when } from '../output/table';

/** GET /api/v1/memories/:person (the OpenAPI document's PersonMemory). */
interface PersonMemory {
  person: string;
  channel: string;
  source: string;
  summary: string | null;
  version: number;
  workId: string | null;
  forgottenAt: string | null;
  updatedAt: string;
}

const personPath = (person: string) => `/api/v1/memories/${encodeURIComponent(person)}`;

/** `workgate memory ls|show|forget`: the assistant's per-person memory (docs/agent.md). */
export function registerMemory(program: Command): void {
  const memory = program
    .command('memory')
    .description('what the assistant remembers about people: list, show, forget');
  apiCommand(memory.command('ls').description('people with a memory, newest change first'))
    .option('-p, --prefix <prefix>', 'only keys starting with this, e.g. telegram:main:')
    .option('-n, --limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: CommonOptions & { prefix?: string; limit?: number; cursor?: string }) => {
      const page = await clientFor(opts).get<Page<PersonMemory>>('/api/v1/memories', {
        prefix: opts.prefix,
        limit: opts.limit,
        cursor: opts.cursor,
      });
      printPage(page, opts, {
        empty: 'Nobody is remembered.',
        head: ['PERSON', 'UPDATED', 'WORK', 'SUMMARY'],
        row: (m) => [m.person, when(m.updatedAt), dash(m.workId), brief(m.summary, 60)],
        more: 'workgate memory ls',
      });
    });

  apiCommand(memory.command('show <person>').description("a person's memory")).action(
    async (person: string, opts: CommonOptions) => {
      const row = await clientFor(opts).get<PersonMemory>(personPath(person));
      if (opts.json) return printJson(row);
      console.log(`${row.person} (updated ${when(row.updatedAt)})`);
      console.log(
        row.summary ??
          (row.forgottenAt ? `(erased ${when(row.forgottenAt)})` : '(nothing remembered)'),
      );
    },
  );

  apiCommand(memory.command('forget <person>').description("erase a person's memory")).action(
    async (person: string, opts: CommonOptions) => {
      const result = await clientFor(opts).delete<{ person: string; erased: boolean }>(
        personPath(person),
      );
      if (opts.json) return printJson(result);
      console.log(
        result.erased
          ? `erased the memory of ${result.person}`
          : `${result.person} had nothing remembered; a conversation under way will not write back`,
      );
    },
  );
}
