import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, from the sources or from dist/ (the nearest folder with package.json). */
export function repoRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = repoRoot();
export const DIST = join(REPO_ROOT, 'dist');

/**
 * The channel fixtures: a byte-for-byte copy of the steering repository's shared
 * fixtures, kept in the repository so a clone's tests need nothing beside it.
 */
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
