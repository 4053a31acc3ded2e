#!/usr/bin/env node
// Generates the Prisma client offline. The prisma CLI downloads a native schema engine
// at start even though generation does not use it; pointing PRISMA_SCHEMA_ENGINE_BINARY
// at any existing executable skips the download (ENVIRONMENT.md, "Prisma 7 without its
// native engine"). Where a real engine is configured, it is left alone.
const { execFileSync } = require('node:child_process');
const { mkdirSync, writeFileSync, existsSync, chmodSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const stub = join(root, 'node_modules', '.cache', 'prisma-engine-stub');
  if (!existsSync(stub)) {
    mkdirSync(join(root, 'node_modules', '.cache'), { recursive: true });
    writeFileSync(stub, '#!/bin/sh\nexit 0\n');
    chmodSync(stub, 0o755);
  }
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
}
const prisma = join(root, 'node_modules', 'prisma', 'build', 'index.js');
if (!existsSync(prisma)) {
  console.error('prisma is not installed; run npm install first');
  process.exit(1);
}
execFileSync(process.execPath, [prisma, 'generate'], {
  cwd: root,
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
