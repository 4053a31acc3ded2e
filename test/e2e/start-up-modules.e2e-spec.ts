import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DIST } from '@test/paths';

/**
 * What a process loads before it does anything. The S3 SDK is loaded on the S3 store's
 * first use: loaded with the ledger it cost every process about 200 ms of start-up —
 * the gateway, the worker and each CLI command, `--help` included — S3 or not.
 */
describe('start-up', () => {
  /** The modules under node_modules/<scope> that loading `entry` pulled in. */
  function loadedFrom(entry: string, scope: string): string[] {
    const script = `require(${JSON.stringify(entry)});
      process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes(${JSON.stringify(`/node_modules/${scope}/`)}))));`;
    return JSON.parse(execFileSync(process.execPath, ['-e', script]).toString()) as string[];
  }

  it('loading the ledger does not load the S3 SDK', () => {
    expect(loadedFrom(join(DIST, 'libs/ledger/src/index.js'), '@aws-sdk')).toEqual([]);
    // The check itself sees a module that is loaded: the ledger does load Prisma.
    expect(loadedFrom(join(DIST, 'libs/ledger/src/index.js'), '@prisma').length).toBeGreaterThan(0);
  });
});
