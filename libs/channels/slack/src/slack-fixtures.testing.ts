import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Test-only access to the shared Slack fixtures (`<repo>/../shared/fixtures`), found by
 * walking up to the nearest package.json.
 */
function fixturesDir(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  // shared/ sits beside the checkout (/work/main) or beside the worktrees' folder (/work/wt/<name>).
  const shared = [path.resolve(dir, '..', 'shared'), path.resolve(dir, '..', '..', 'shared')].find(
    (d) => existsSync(d),
  );
  return path.resolve(shared ?? path.resolve(dir, '..', 'shared'), 'fixtures');
}

export function slackFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixturesDir(), 'slack', name), 'utf8')) as T;
}

export interface SlackSignatureExample {
  signing_secret: string;
  body: string;
  body_from?: string;
  timestamp: string;
  basestring?: string;
  expected_signature: string;
  headers: Record<string, string>;
  now_for_tests: number;
}

export function slackSignatures(): {
  events_example: SlackSignatureExample;
  events_retry_example: Omit<SlackSignatureExample, 'signing_secret' | 'now_for_tests'>;
  interactivity_example: SlackSignatureExample;
  published_vector: {
    signing_secret: string;
    timestamp: string;
    body: string;
    expected_signature: string;
  };
  negative_cases: Array<{ case: string; now?: number; body_variant?: string; expect: string }>;
} {
  const all = JSON.parse(readFileSync(path.join(fixturesDir(), 'signatures.json'), 'utf8')) as {
    slack: ReturnType<typeof slackSignatures>;
  };
  return all.slack;
}

/** Node hands headers over with lower-cased names; the fixtures spell them as sent. */
export function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
