import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Test-only access to the shared channel fixtures (`<repo>/../shared/fixtures`). The repo
 * root is found by walking up to the nearest package.json, so the specs keep working
 * wherever they sit in the tree or however the checkout is named.
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

export function readFixture(relativePath: string): string {
  return readFileSync(path.join(fixturesDir(), relativePath), 'utf8');
}

/** The body a fixture file is signed as: `JSON.stringify(JSON.parse(file))` (fixtures README). */
export function signedBodyOf(relativePath: string): Buffer {
  return Buffer.from(JSON.stringify(JSON.parse(readFixture(relativePath))), 'utf8');
}

/** Node hands headers over with lower-cased names; the fixtures spell them as sent. */
export function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

interface NegativeCase {
  case: string;
  expect: string;
  [field: string]: unknown;
}

export interface SignatureFixtures {
  standard_webhooks: {
    example: {
      secret: string;
      key_bytes_hex: string;
      webhook_id: string;
      webhook_timestamp: string;
      body: string;
      signed_content: string;
      expected_signature: string;
      headers: Record<string, string>;
      now_for_tests: number;
      tolerance_seconds: number;
    };
    rotation_example: {
      old_secret: string;
      webhook_signature_header: string;
      accepts_with_secret: string[];
    };
    published_vector: {
      secret: string;
      webhook_id: string;
      webhook_timestamp: string;
      body: string;
      expected_signature: string;
    };
    negative_cases: NegativeCase[];
  };
  github: {
    example: {
      secret: string;
      body_from: string;
      body_sha256: string;
      body_length_bytes: number;
      body: string;
      expected_x_hub_signature_256: string;
      headers_file: string;
    };
    published_vector: { secret: string; body: string; expected_x_hub_signature_256: string };
    negative_cases: NegativeCase[];
  };
  stripe: {
    example: {
      endpoint_secret: string;
      body_from: string;
      body: string;
      t: string;
      signed_payload: string;
      expected_v1: string;
      headers: Record<string, string>;
      now_for_tests: number;
      tolerance_seconds: number;
    };
    rotation_example: {
      old_endpoint_secret: string;
      stripe_signature_header: string;
      expected_v1_with_old_secret: string;
      accepts_with_secret: string[];
    };
    negative_cases: NegativeCase[];
  };
}

export function loadSignatureFixtures(): SignatureFixtures {
  return JSON.parse(readFixture('signatures.json')) as SignatureFixtures;
}

/** The negative case whose description starts with `prefix`; fails loudly if the fixtures changed. */
export function negativeCase(cases: NegativeCase[], prefix: string): NegativeCase {
  const found = cases.find((c) => c.case.startsWith(prefix));
  if (!found) throw new Error(`no negative case starting with ${JSON.stringify(prefix)}`);
  return found;
}
