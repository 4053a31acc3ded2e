import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
// Here, not in libs/: Prettier is a dev dependency, and the SDK build packs libs/.
import { renderConfigReference } from '../libs/config/src/reference/config-reference';

/** The reference as committed: rendered, then formatted with the repository's Prettier settings. */
export async function formatConfigReference(): Promise<string> {
  const file = join(__dirname, '..', 'docs', 'reference', 'configuration.md');
  const options = (await resolveConfig(file)) ?? {};
  return format(renderConfigReference(), { ...options, filepath: file });
}
