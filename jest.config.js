// One command runs every project: unit specs beside the code, integration and e2e
// against real PostgreSQL and Redis (each file in its own schema and Redis prefix, so
// files run in parallel), and the fault project that stops, restarts or wipes the
// services — disposable instances of its own on free ports, never the machine's —
// run serially after the others (`npm test` runs it as a second pass).
const swc = [
  '@swc/jest',
  {
    // .swcrc is for the build (it skips specs); tests compile with these options only.
    swcrc: false,
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = {
  '^@app/core$': '<rootDir>/libs/core/src',
  '^@app/core/(.*)$': '<rootDir>/libs/core/src/$1',
  '^@app/config$': '<rootDir>/libs/config/src',
  '^@app/ledger$': '<rootDir>/libs/ledger/src',
  '^@app/engine$': '<rootDir>/libs/engine/src',
  '^@app/observability$': '<rootDir>/libs/observability/src',
  '^@app/security$': '<rootDir>/libs/security/src',
  '^@app/channels/core$': '<rootDir>/libs/channels/core/src',
  '^@app/channels/webhook$': '<rootDir>/libs/channels/webhook/src',
  '^@app/channels/slack$': '<rootDir>/libs/channels/slack/src',
  '^@app/channels/telegram$': '<rootDir>/libs/channels/telegram/src',
  '^@app/agent$': '<rootDir>/libs/agent/src',
  '^@app/sdk$': '<rootDir>/libs/sdk/src',
  '^@app/sdk/(.*)$': '<rootDir>/libs/sdk/src/$1',
  '^@test/(.*)$': '<rootDir>/test/support/$1',
};
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  moduleFileExtensions: ['ts', 'js', 'json'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
    {
      ...common,
      displayName: 'faults',
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
      testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
      // Its own PostgreSQL and Redis on free ports, which the tests may stop and wipe.
      globalSetup: '<rootDir>/test/support/faults-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/faults-global-teardown.ts',
    },
    {
      ...common,
      displayName: 'cluster',
      setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
      // A Redis Cluster, a Sentinel set and a PostgreSQL of its own (test/support/services),
      // with the apps from dist/ (npm run test:cluster builds first).
      testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'],
    },
  ],
};
