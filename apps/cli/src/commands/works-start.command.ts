import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import { parseDurationMs } from '@app/core';
import { type ApiClient } from '../api/api-client';
import { apiCommand, clientFor, type CommonOptions } from '../api/api-options';
import { type WorkResult, type WorkSummary } from '../api/api-types';
import { CliError, EXIT } from '../exit-codes';
import { brief, printJson } from '../output/table';

interface StartOptions extends CommonOptions {
  input?: string;
  inputFile?: string;
  key?: string;
  conversation?: string;
  wait?: string | boolean;
}

/** One long-poll request: the server holds it at most this long (RESULT_WAIT_MAX_MS is 55 s). */
const POLL_WAIT = '30s';

/**
 * `workgate works start <kind>`: POST /api/v1/works, and with --wait the result's long
 * poll, asked again while the work is live, until it ends or the --wait limit passes.
 */
export function registerWorksStart(works: Command): void {
  apiCommand(
    works
      .command('start <kind>')
      .description('start a work of a registered workflow kind (see GET /api/v1/workflows)'),
  )
    .option('-i, --input <json>', 'the input, as JSON (default {})')
    .option('-f, --input-file <path>', 'read the input from a file')
    .option('-k, --key <key>', 'idempotency key: the same key never starts a second work')
    .option('--conversation <key>', 'conversation key the work belongs to')
    .option(
      '-w, --wait [limit]',
      'wait for the work to end and print its result (a limit such as 10m; default: no limit)',
    )
    .action(async (kind: string, opts: StartOptions) => {
      const api = clientFor(opts);
      const input = parseInput(opts);
      const { status, body } = await api.postWithStatus<{
        work: WorkSummary;
        eventId: string;
        created: boolean;
      }>('/api/v1/works', {
        kind,
        input,
        ...(opts.key ? { idempotencyKey: opts.key } : {}),
        ...(opts.conversation ? { conversationKey: opts.conversation } : {}),
      });
      if (opts.wait === undefined || opts.wait === false) {
        if (opts.json) return printJson(body);
        const seen = status === 200 ? ' (already started with this key; nothing new opened)' : '';
        console.log(`work ${body.work.id} ${body.work.kind} is ${body.work.state}${seen}`);
        return;
      }
      const result = await waitForResult(api, body.work.id, limitOf(opts.wait));
      if (opts.json) printJson(result);
      else if (result.state === 'COMPLETED')
        console.log(`work ${result.id} COMPLETED\nOutput: ${brief(result.output, 2000)}`);
      else console.log(`work ${result.id} ${result.state}\nError:  ${brief(result.error, 2000)}`);
      if (result.state !== 'COMPLETED')
        throw new CliError(EXIT.failed, `work ${result.id} ended ${result.state}`);
    });
}

function parseInput(opts: StartOptions): unknown {
  const text = opts.inputFile ? readFileSync(opts.inputFile, 'utf8') : (opts.input ?? '{}');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(EXIT.usage, `The input is not JSON: ${(err as Error).message}`);
  }
}

function limitOf(wait: string | true): number {
  if (wait === true) return Number.POSITIVE_INFINITY;
  const ms = parseDurationMs(wait);
  if (ms === undefined) throw new CliError(EXIT.usage, `--wait ${wait}: not a duration (e.g. 10m)`);
  return ms;
}

async function waitForResult(api: ApiClient, id: string, limitMs: number): Promise<WorkResult> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const left = deadline - Date.now();
    const wait = left >= 30_000 ? POLL_WAIT : `${Math.max(0, Math.floor(left))}ms`;
    const result = await api.get<WorkResult>(
      `/api/v1/works/${encodeURIComponent(id)}/result`,
      { wait },
      // The server holds the request up to `wait`: leave room for the answer itself.
      65_000,
    );
    if (result.done) return result;
    if (Date.now() >= deadline)
      throw new CliError(
        EXIT.failed,
        `work ${id} is still ${result.state} after the --wait limit (workgate works show ${id})`,
      );
  }
}
