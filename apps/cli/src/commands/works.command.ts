import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import { apiCommand, clientFor, type CommonOptions, positiveInt } from '../api/api-options';
import { type ActionResult, type Page, type WorkDetail, type WorkSummary } from '../api/api-types';
import { CliError, EXIT } from '../exit-codes';
import { brief, dash, printJson, renderTable, usd, when } from '../output/table';
import { registerWorksStart } from './works-start.command';

interface ListOptions extends CommonOptions {
  state?: string;
  kind?: string;
  channel?: string;
  conversation?: string;
  createdFrom?: string;
  createdTo?: string;
  updatedFrom?: string;
  updatedTo?: string;
  query?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
}

const ACTIONS = {
  pause: 'pause a work (RUNNING: at its next step boundary)',
  resume: 'resume a paused work',
  cancel: 'cancel a work (RUNNING: at its next step boundary)',
  retry: 'retry a FAILED or CANCELLED work, keeping its completed steps',
} as const;

export function registerWorks(program: Command): void {
  const works = program.command('works').description('start, list, inspect and steer works');
  registerWorksStart(works);
  registerWorksLs(works);

  apiCommand(
    works.command('show <id>').description('one work: fields, steps, waits, timeline'),
  ).action(async (id: string, opts: CommonOptions) => {
    const detail = await clientFor(opts).get<WorkDetail>(`/api/v1/works/${encodeURIComponent(id)}`);
    if (opts.json) return printJson(detail);
    printDetail(detail);
  });

  for (const [action, description] of Object.entries(ACTIONS)) {
    apiCommand(works.command(`${action} <id>`).description(description))
      .option('-r, --reason <text>', 'why (recorded in the timeline)')
      .action(async (id: string, opts: CommonOptions & { reason?: string }) => {
        const result = await clientFor(opts).post<ActionResult>(
          `/api/v1/works/${encodeURIComponent(id)}/${action}`,
          opts.reason ? { reason: opts.reason } : undefined,
        );
        printAction(result, opts);
      });
  }

  apiCommand(
    works
      .command('rerun <id>')
      .description('run a work again from step N: keeps the steps before it, discards the rest'),
  )
    .requiredOption('--from <n>', 'the first step to run again (steps count from 1)', positiveInt)
    .option('-r, --reason <text>', 'why (recorded in the timeline)')
    .action(async (id: string, opts: CommonOptions & { from: number; reason?: string }) => {
      const result = await clientFor(opts).post<ActionResult>(
        `/api/v1/works/${encodeURIComponent(id)}/rerun`,
        { fromStep: opts.from, ...(opts.reason ? { reason: opts.reason } : {}) },
      );
      printAction(result, opts);
    });

  registerWorksSignal(works);
}

function printAction(result: ActionResult, opts: CommonOptions): void {
  if (opts.json) return printJson(result);
  const wait = result.waitId ? ` (wait ${result.waitId})` : '';
  console.log(`${result.event}: work ${result.work.id} is ${result.work.state}${wait}`);
}

function printDetail(d: WorkDetail): void {
  const w = d.work;
  const waiting = w.waitReason
    ? ` (${w.waitReason})`
    : w.pausedFrom
      ? ` (from ${w.pausedFrom})`
      : '';
  console.log(`Work ${w.id}  ${w.kind}  ${w.state}${waiting}`);
  console.log(
    renderTable(
      [],
      [
        ['channel', `${w.channel}${w.sourceId ? ` (event ${w.sourceId})` : ''}`],
        ['conversation', dash(w.conversationKey)],
        ['attempt', w.attempt],
        ['created', when(w.createdAt)],
        ['updated', when(w.updatedAt)],
        ...(w.finishedAt ? [['finished', when(w.finishedAt)]] : []),
        ...(w.runAfter ? [['run after', when(w.runAfter)]] : []),
        ...(w.leaseOwner ? [['lease', `${w.leaseOwner} until ${when(w.leaseExpiresAt)}`]] : []),
        ['cost', `${usd(d.costUsd)} (${d.modelCalls.length} model calls)`],
        ...(d.parent ? [['parent', `${d.parent.id} ${d.parent.kind} ${d.parent.state}`]] : []),
        ...(d.children.length
          ? [['children', d.children.map((c) => `${c.id} ${c.state}`).join(', ')]]
          : []),
      ].map(([k, v]) => [`  ${k}`, String(v)]),
    ),
  );
  console.log(`\nInput:  ${brief(w.input, 200)}`);
  if (w.output !== null && w.output !== undefined) console.log(`Output: ${brief(w.output, 200)}`);
  if (w.error !== null && w.error !== undefined) console.log(`Error:  ${brief(w.error, 200)}`);
  if (d.steps.length) {
    console.log('\nSteps:');
    console.log(
      indent(
        renderTable(
          ['SEQ', 'NAME', 'TYPE', 'STATUS', 'ATTEMPT', 'DURATION', 'ERROR'],
          d.steps.map((s) => [
            s.seq,
            s.name,
            s.type,
            s.status,
            s.attempt,
            s.durationMs === null ? '-' : `${s.durationMs} ms`,
            brief(s.error, 60),
          ]),
        ),
      ),
    );
  }
  if (d.waits.length) {
    console.log('\nWaits:');
    console.log(
      indent(
        renderTable(
          ['ID', 'TYPE', 'STATUS', 'WAKES', 'ESCALATION'],
          d.waits.map((wt) => [
            wt.id,
            wt.type,
            wt.status,
            wt.status === 'open' ? when(wt.timeoutAt) : '-',
            wt.escalation?.length
              ? `rung ${wt.escalationRung}/${wt.escalation.length}: ${wt.escalation.map((r) => r.action).join(' → ')}`
              : '-',
          ]),
        ),
      ),
    );
  }
  if (d.inbox.length) console.log(`\nInbox: ${d.inbox.length} event(s) not taken yet`);
  console.log('\nTimeline:');
  console.log(
    indent(
      renderTable(
        ['AT', 'SEQ', 'EVENT', 'BY', 'DATA'],
        d.timeline.map((t) => [when(t.at), t.seq, t.type, dash(t.actor), brief(t.data, 70)]),
      ),
    ),
  );
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

/** `works ls`: filtered, paged listing (every page with --all). */
function registerWorksLs(works: Command): void {
  apiCommand(works.command('ls').description('list works, newest first'))
    .option('-s, --state <states>', 'one or more states, comma-separated (e.g. WAITING,FAILED)')
    .option('-k, --kind <kind>', 'workflow kind')
    .option('-c, --channel <channel>', 'where it came from: webhook, api, telegram, slack…')
    .option('--conversation <key>', 'conversation key')
    .option('--created-from <iso>', 'created at or after (ISO 8601)')
    .option('--created-to <iso>', 'created before (ISO 8601)')
    .option('--updated-from <iso>', 'updated at or after (ISO 8601)')
    .option('--updated-to <iso>', 'updated before (ISO 8601)')
    .option('-q, --query <text>', 'text anywhere in the input')
    .option('-n, --limit <n>', 'page size (1-200, default 50)', positiveInt)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--all', 'follow every page')
    .action(async (opts: ListOptions) => {
      const api = clientFor(opts);
      const query = {
        state: opts.state?.toUpperCase(),
        kind: opts.kind,
        channel: opts.channel,
        conversation: opts.conversation,
        createdFrom: opts.createdFrom,
        createdTo: opts.createdTo,
        updatedFrom: opts.updatedFrom,
        updatedTo: opts.updatedTo,
        q: opts.query,
        limit: opts.limit,
      };
      const items: WorkSummary[] = [];
      let cursor = opts.cursor;
      let next: string | null;
      do {
        const page = await api.get<Page<WorkSummary>>('/api/v1/works', { ...query, cursor });
        items.push(...page.items);
        next = page.nextCursor;
        cursor = next ?? undefined;
      } while (opts.all && next);
      if (opts.json) return printJson({ items, nextCursor: next });
      if (!items.length) return console.log('No works match.');
      console.log(
        renderTable(
          ['ID', 'STATE', 'KIND', 'CHANNEL', 'ATTEMPT', 'WAITING FOR', 'CREATED', 'COST'],
          items.map((w) => [
            w.id,
            w.state,
            w.kind,
            w.channel,
            w.attempt,
            dash(w.waitReason),
            when(w.createdAt),
            usd(w.costUsd),
          ]),
        ),
      );
      if (next) console.error(`more: workgate works ls --cursor ${next} (or --all)`);
    });
}

/** `works signal`: answer an open wait with a JSON payload from --data or --file. */
function registerWorksSignal(works: Command): void {
  apiCommand(
    works
      .command('signal <id>')
      .description(
        'answer a work’s open wait with a JSON payload (checked against what it expects)',
      ),
  )
    .option('-d, --data <json>', 'the payload, as JSON')
    .option('-f, --file <path>', 'read the payload from a file')
    .option('-w, --wait <waitId>', 'the wait to answer (default: the work’s open wait)')
    .action(
      async (id: string, opts: CommonOptions & { data?: string; file?: string; wait?: string }) => {
        const text = opts.file ? readFileSync(opts.file, 'utf8') : opts.data;
        if (text === undefined)
          throw new CliError(EXIT.usage, 'Give the payload with --data <json> or --file <path>.');
        let payload: unknown;
        try {
          payload = JSON.parse(text);
        } catch (err) {
          throw new CliError(EXIT.usage, `The payload is not JSON: ${(err as Error).message}`);
        }
        const result = await clientFor(opts).post<ActionResult>(
          `/api/v1/works/${encodeURIComponent(id)}/signal`,
          { payload, ...(opts.wait ? { waitId: opts.wait } : {}) },
        );
        printAction(result, opts);
      },
    );
}
