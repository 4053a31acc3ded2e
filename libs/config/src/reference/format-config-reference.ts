import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { renderConfigReference } from './config-reference';

/** The reference as committed: rendered, then formatted with the repository's Prettier settings. */
export async function formatConfigReference(): Promise<string> {
  const file = join(__dirname, '..', '..', '..', '..', 'docs', 'reference', 'configuration.md');
  const options = (await resolveConfig(file)) ?? {};
  return format(renderConfigReference(), { ...options, filepath: file });
}
