import { type Command, InvalidArgumentError } from 'commander';
import { ApiClient } from './api-client';

export interface CommonOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** The options every command that talks to the operator API takes. */
export function apiCommand(command: Command): Command {
  return command
    .option('--url <url>', 'gateway base URL (default: $WORKGATE_URL or http://127.0.0.1:3000)')
    .option('--token <token>', 'API token (default: $WORKGATE_TOKEN)')
    .option('--json', 'print the API’s JSON answer (for scripts)');
}

export function clientFor(options: CommonOptions): ApiClient {
  return ApiClient.from({ url: options.url, token: options.token });
}

/** Commander argument parser for a positive whole number. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a whole number ≥ 1');
  return n;
}

/** Commander argument parser for JSON text. */
export function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`not JSON: ${(err as Error).message}`);
  }
}
