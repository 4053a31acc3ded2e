import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../app-config';
import { formatConfigReference } from '../../../../scripts/docs-config-format';

const committed = join(__dirname, '..', '..', '..', '..', 'docs', 'reference', 'configuration.md');

describe('configuration reference', () => {
  it('docs/reference/configuration.md is what the schema generates', async () => {
    const expected = await formatConfigReference();
    const actual = readFileSync(committed, 'utf8');
    if (actual !== expected)
      throw new Error(
        'docs/reference/configuration.md is out of date with libs/config/src/config.schema.ts: run npm run docs:config',
      );
  });

  it.each([
    ['PORT', '4100', (c: ReturnType<typeof loadConfig>) => c.server.port, 4100],
    ['HOST', '127.0.0.2', (c: ReturnType<typeof loadConfig>) => c.server.host, '127.0.0.2'],
    ['WORKER_CONCURRENCY', '3', (c: ReturnType<typeof loadConfig>) => c.worker.concurrency, 3],
    ['WORKER_METRICS_PORT', '0', (c: ReturnType<typeof loadConfig>) => c.worker.metricsPort, 0],
  ])('%s sets the config key the reference names', (name, value, read, expected) => {
    expect(read(loadConfig({ env: { [name]: value }, path: null }))).toBe(expected);
  });
});
