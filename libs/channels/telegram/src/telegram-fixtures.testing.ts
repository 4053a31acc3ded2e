import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Test-only access to the shared Telegram fixtures (`<repo>/../shared/fixtures/telegram`),
 * found by walking up to the nearest package.json.
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
  return path.resolve(shared ?? path.resolve(dir, '..', 'shared'), 'fixtures', 'telegram');
}

export function telegramFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixturesDir(), name), 'utf8')) as T;
}

/** The webhook secret token the fixtures README names (TEST ONLY). */
export const FIXTURE_SECRET_TOKEN = 'wg_TEST_ONLY-telegram-secret_0001';

/** The fixtures' bot: id 123456789, @workgate_test_bot. */
export const FIXTURE_BOT_ID = 123456789;
