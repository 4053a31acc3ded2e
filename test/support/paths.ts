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
 * The shared fixtures (`shared/fixtures` beside the checkout): next to the repository
 * for /work/main, one level further up for a worktree under /work/wt/<name>.
 */
export const FIXTURES =
  [
    join(REPO_ROOT, '..', 'shared', 'fixtures'),
    join(REPO_ROOT, '..', '..', 'shared', 'fixtures'),
  ].find((dir) => existsSync(dir)) ?? join(REPO_ROOT, '..', 'shared', 'fixtures');
