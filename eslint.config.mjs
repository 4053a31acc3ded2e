// @ts-check
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// What libs/core may never import: it is the pure domain (STYLE.md). Node built-ins
// are listed both bare and with the node: prefix.
const nodeBuiltins = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];
const ioPackages = [
  '@nestjs/*',
  '@prisma/*',
  'bullmq',
  'ioredis',
  'openai',
  'telegraf',
  '@slack/*',
  'pg',
  'fastify',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'libs/ledger/src/generated/**',
      'libs/sdk/build/**',
      // A user's project of its own: type-checked and tested by npm run example:check.
      'examples/**',
      'coverage/**',
      'bench/results/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
      'libs/ops/web/**',
      // The docs site's VitePress config (and its build output); VitePress compiles it.
      'docs/.vitepress/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @app/config (parsed once at boot).',
        },
      ],
    },
  },
  {
    files: ['libs/core/**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins
            .flatMap((m) => [m, `node:${m}`])
            .map((name) => ({
              name,
              message: 'libs/core is pure: no I/O. Put this behind a port.',
            })),
          patterns: [
            {
              group: [...ioPackages, 'node:*'],
              message: 'libs/core is pure: no I/O. Put this behind a port.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'setTimeout', 'setInterval', 'fetch'],
    },
  },
  {
    // Button tokens and the ledger sit below the channels (docs/decisions.md, issue 17).
    files: ['libs/ledger/**/*.ts', 'libs/security/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@app/channels/*', '@app/engine', '@app/agent', '@app/sdk'],
              message: 'The ledger and libs/security sit below the channels and the engine.',
            },
          ],
        },
      ],
    },
  },
  {
    // Channels never touch the database: they ingest through the ledger and keep
    // cursors through core's ChannelCursorStore port.
    files: ['libs/channels/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['pg', '@prisma/*'],
              message: 'Channels do not touch the database: use a ledger port.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
      'no-restricted-properties': 'off',
      'no-restricted-globals': 'off',
    },
  },
  {
    // The config lib is the one place process.env is read.
    files: ['libs/config/**/*.ts', 'prisma.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  prettier,
);
