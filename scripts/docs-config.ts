// npm run docs:config: writes docs/reference/configuration.md from the config schema.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatConfigReference } from './docs-config-format';

const target = join(__dirname, '..', 'docs', 'reference', 'configuration.md');
void formatConfigReference().then((text) => {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
});
